package mom

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run calls Main with buffers and returns the exit code and both outputs.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStderr string
	}{
		{"no arguments", nil, 2, "Usage:"},
		{"unknown command", []string{"deploy"}, 2, `unknown command "deploy"`},
		{"help", []string{"help"}, 0, "mom atlas config add-http-adapter"},
		{"--help", []string{"--help"}, 0, "mom curl PATH"},
		{"help curl", []string{"help", "curl"}, 0, "Flags may come before or after PATH"},
		{"help unknown", []string{"help", "nope"}, 2, `no help for "nope"`},
		{"atlas alone", []string{"atlas"}, 2, "expected the config command"},
		{"atlas config alone", []string{"atlas", "config"}, 2, "expected the add-http-adapter command"},
		{"add-http-adapter --help", []string{"atlas", "config", "add-http-adapter", "--help"}, 0, "-adapter-name NAME"},
		{"add-http-adapter bad flag", []string{"atlas", "config", "add-http-adapter", "--nope"}, 2, "flag provided but not defined: -nope"},
		{"curl --help", []string{"curl", "--help"}, 0, "-base-url URL"},
		{"curl without path", []string{"curl"}, 2, "want exactly one PATH, got 0"},
		{"curl two paths", []string{"curl", "/a", "/b"}, 2, "want exactly one PATH, got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.wantStderr) || stdout != "" {
				t.Errorf("code %d (want %d), stdout %q, stderr:\n%s\nwant stderr containing %q", code, tt.code, stdout, stderr, tt.wantStderr)
			}
		})
	}
}

func TestAddHTTPAdapterCLI(t *testing.T) {
	seed, err := os.ReadFile("testdata/seed-config.yml")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/seed-config.golden.yml")
	if err != nil {
		t.Fatal(err)
	}
	newFile := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "atlas.yml")
		if err := os.WriteFile(path, seed, 0o640); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("seed command", func(t *testing.T) {
		path := newFile(t)
		code, stdout, stderr := run(t, "", "atlas", "config", "add-http-adapter", "-f", path,
			"--adapter-name", "stripe", "--base-url", "https://api.stripe.com", "-H", "Authorization: Bearer ${{ STRIPE_API_KEY }}")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		got, _ := os.ReadFile(path)
		want := strings.ReplaceAll(string(golden), "YOUR_ADAPTER_NAME", "stripe")
		if string(got) != want {
			t.Errorf("file differs from the golden file (with name stripe):\n%s", got)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o640 {
			t.Errorf("mode = %v, want 0640 kept", info.Mode().Perm())
		}
		if !strings.Contains(stdout, "Set STRIPE_API_KEY") || !strings.Contains(stdout, "mom curl /v1/apis/http/stripe/") {
			t.Errorf("stdout = %q", stdout)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("temporary files left behind: %v", entries)
		}
	})
	t.Run("literal secret warns without printing it", func(t *testing.T) {
		path := newFile(t)
		code, _, stderr := run(t, "", "atlas", "config", "add-http-adapter", "--file", path,
			"--adapter-name", "stripe", "--base-url", "https://api.stripe.com", "-H", "Authorization: Bearer sk_test_s3cr3t", "-H", "X-Two: b")
		if code != 0 || !strings.Contains(stderr, "warning: header Authorization has no ${{ ENV_VAR }} reference") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		if strings.Contains(stderr, "s3cr3t") {
			t.Errorf("stderr leaks the secret: %s", stderr)
		}
	})
	errorTests := []struct {
		name     string
		args     []string
		code     int
		wantErr  string
		noSecret bool
	}{
		{"missing -f", []string{"--adapter-name", "x", "--base-url", "https://h"}, 2, "-f FILE is required", false},
		{"missing name", []string{"-f", "F", "--base-url", "https://h"}, 2, "--adapter-name is required", false},
		{"missing base url", []string{"-f", "F", "--adapter-name", "x"}, 2, "--base-url is required", false},
		{"stray argument", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "extra"}, 2, `unexpected argument "extra"`, false},
		{"name exists as document", []string{"-f", "F", "--adapter-name", "datadog", "--base-url", "https://h"}, 1, `adapter "datadog" already exists (document at line 50)`, false},
		{"name exists as ref only", []string{"-f", "F", "--adapter-name", "analytics-db", "--base-url", "https://h"}, 1, `adapter "analytics-db" already exists`, false},
		{"invalid name", []string{"-f", "F", "--adapter-name", "Bad/Name", "--base-url", "https://h"}, 1, "--adapter-name: adapter name \"Bad/Name\" is not a single URL path segment", false},
		{"invalid base url", []string{"-f", "F", "--adapter-name", "x", "--base-url", "ftp://h"}, 1, `--base-url: baseUrl scheme "ftp" is not supported`, false},
		{"credentials in base url", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://u:s3cr3t@h"}, 1, "must not contain user information", true},
		{"header without colon", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", "Authorization Bearer s3cr3t"}, 1, "-H #1: has no ':'", true},
		{"header empty name", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", ": s3cr3t"}, 1, "-H #1: header name \"\" is empty", true},
		{"header crlf", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", "A: s3cr3t\r\nB: c"}, 1, "-H #1: contains a CR, LF or NUL", true},
		{"header empty value", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", "A:"}, 1, "-H A: value is empty", false},
		{"forbidden header", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", "Host: s3cr3t"}, 1, `header name "Host" cannot be injected`, true},
		{"duplicate header", []string{"-f", "F", "--adapter-name", "x", "--base-url", "https://h", "-H", "A: 1", "-H", "a: 2"}, 1, "-H a is given twice", false},
		{"missing file", []string{"-f", "MISSING", "--adapter-name", "x", "--base-url", "https://h"}, 1, "no such file or directory (check -f)", false},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			path := newFile(t)
			args := []string{"atlas", "config", "add-http-adapter"}
			for _, a := range tt.args {
				switch a {
				case "F":
					a = path
				case "MISSING":
					a = filepath.Join(t.TempDir(), "missing.yml")
				}
				args = append(args, a)
			}
			code, stdout, stderr := run(t, "", args...)
			if code != tt.code || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", code, tt.code, stderr, tt.wantErr)
			}
			if tt.noSecret && strings.Contains(stderr+stdout, "s3cr3t") {
				t.Errorf("output leaks the secret:\n%s", stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, seed) {
				t.Errorf("the file changed although the command failed")
			}
		})
	}
}
