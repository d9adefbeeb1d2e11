package mom

import (
	"strings"
	"testing"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func TestAdminSecretsSet(t *testing.T) {
	f := startFakeAdmin(t)
	tests := []struct {
		name, stdin, stored, stdout string
		json                        bool
	}{
		{"created, one newline removed", "sk_test_51Habc\n", "sk_test_51Habc",
			"Secret STRIPE_API_KEY created (14 bytes). Reference it from an adapter header as ${{ secret:STRIPE_API_KEY }}.\n", false},
		{"updated, CRLF removed", "sk_test_v2\r\n", "sk_test_v2",
			"Secret STRIPE_API_KEY updated (10 bytes); adapters that reference it use the new value after the next reload.\n", false},
		{"no newline, json", "sk_test_v3", "sk_test_v3", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"atlas", "secrets", "set", "STRIPE_API_KEY"}
			if tt.json {
				args = append(args, "-o", "json")
			}
			code, stdout, stderr := f.run(t, tt.stdin, args...)
			mustOK(t, code, stderr)
			if got := string(f.secrets["STRIPE_API_KEY"]); got != tt.stored {
				t.Errorf("the server got %q, want %q", got, tt.stored)
			}
			if strings.Contains(stdout+stderr, tt.stored) {
				t.Errorf("the value is printed:\nstdout %q\nstderr %q", stdout, stderr)
			}
			if tt.json {
				var got adminv1.SetSecretResponse
				decode(t, stdout, &got)
				if got.GetSecret().GetSizeBytes() != int64(len(tt.stored)) || got.GetCreated() {
					t.Errorf("json: %v", &got)
				}
			} else if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
		})
	}
}

func TestAdminSecretsSetRefused(t *testing.T) {
	f := startFakeAdmin(t)
	tests := []struct{ name, stdin, stderr string }{
		{"empty", "", "mom: the value of secret K is empty; pipe it on standard input, e.g. printf %s \"$K\" | mom atlas secrets set K\n"},
		{"only a newline", "\n", "is empty"},
		{"two lines", "line1\nline2\n", "mom: the secret value holds a line break or NUL character; a secret is one line (only one trailing newline is removed)\n"},
		{"two trailing newlines", "v\n\n", "holds a line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := f.run(t, tt.stdin, "atlas", "secrets", "set", "K")
			if code != 1 || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want stderr containing %q", code, stdout, stderr, tt.stderr)
			}
			if strings.Contains(stderr, "line1") || f.callCount() != 0 {
				t.Errorf("the value was printed or sent (%d RPCs)", f.callCount())
			}
		})
	}
}

func TestAdminSecretsListAndDelete(t *testing.T) {
	f := startFakeAdmin(t)
	f.secrets["STRIPE_API_KEY"], f.secrets["OTHER"] = []byte("sk_live_x"), []byte("ab")

	code, stdout, stderr := f.run(t, "", "atlas", "secrets", "list")
	mustOK(t, code, stderr)
	wantFields(t, stdout, [][]string{
		{"NAME", "BYTES", "CREATED", "UPDATED"},
		{"OTHER", "2", "3h5m", "1m"},
		{"STRIPE_API_KEY", "9", "3h5m", "1m"},
	})
	code, stdout, stderr = f.run(t, "", "atlas", "secrets", "list", "-o", "json")
	mustOK(t, code, stderr)
	var list adminv1.ListSecretsResponse
	decode(t, stdout, &list)
	if len(list.GetSecrets()) != 2 || list.GetSecrets()[1].GetSizeBytes() != 9 || strings.Contains(stdout, "sk_live") {
		t.Errorf("json:\n%s", stdout)
	}

	code, stdout, stderr = f.run(t, "", "atlas", "secrets", "delete", "OTHER")
	mustOK(t, code, stderr)
	if stdout != "Secret OTHER deleted.\n" || f.secrets["OTHER"] != nil {
		t.Errorf("stdout %q, stored %q", stdout, f.secrets["OTHER"])
	}
	code, _, stderr = f.run(t, "", "atlas", "secrets", "delete", "IN_USE")
	if want := "mom: delete secret IN_USE: secret IN_USE is referenced by adapters stripe; change them first\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
}
