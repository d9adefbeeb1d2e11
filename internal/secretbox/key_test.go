package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := testKey(7)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"hex", hex.EncodeToString(key), ""},
		{"hex upper with newline", strings.ToUpper(hex.EncodeToString(key)) + "\n", ""},
		{"base64", base64.StdEncoding.EncodeToString(key), ""},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(key), ""},
		{"base64 url", base64.URLEncoding.EncodeToString(key), ""},
		{"empty", "  ", "empty"},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(key[:16]), "decodes (base64) to 16 bytes"},
		{"not encoded", "correct horse battery staple!", "neither hex"},
		{"short hex", hex.EncodeToString(key[:31]), "want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKey error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Errorf("error echoes the key: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("ParseKey = %x, want %x", got, key)
			}
		})
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	key := testKey(3)
	t.Setenv(EnvMasterKey, base64.StdEncoding.EncodeToString(key))
	dir := t.TempDir()
	got, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Errorf("LoadKey = %x, want the env key", got)
	}
	if _, err := os.Stat(KeyFile(dir)); !os.IsNotExist(err) {
		t.Errorf("a key file was created although %s is set (stat: %v)", EnvMasterKey, err)
	}

	t.Setenv(EnvMasterKey, "nope")
	if _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), EnvMasterKey) {
		t.Errorf("LoadKey with a bad env key: err = %v, want one naming %s", err, EnvMasterKey)
	}
}

func unsetEnv(t *testing.T) {
	t.Helper()
	t.Setenv(EnvMasterKey, "") // registers restoration
	os.Unsetenv(EnvMasterKey)
}

func TestLoadKeyGeneratesFile(t *testing.T) {
	unsetEnv(t)
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != KeySize {
		t.Fatalf("generated key has %d bytes", len(first))
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, KeyFile(dir): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %04o, want %04o", path, got, want)
		}
	}
	again, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("a second LoadKey returned a different key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s", len(entries), KeyFileName)
	}
}

func TestLoadKeyConcurrentFirstUseAgrees(t *testing.T) {
	unsetEnv(t)
	dir := t.TempDir()
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadKey(dir)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("starter %d got a different key", i)
		}
	}
}

func TestLoadKeyFileChecks(t *testing.T) {
	unsetEnv(t)
	key := testKey(5)
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		wantErr string
	}{
		{"raw bytes", key, 0o600, ""},
		{"hex text", []byte(hex.EncodeToString(key) + "\n"), 0o400, ""},
		{"group readable", key, 0o640, "chmod 600"},
		{"world readable", key, 0o604, "chmod 600"},
		{"garbage", []byte("not a key at all"), 0o600, "neither hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(KeyFile(dir), tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(KeyFile(dir), tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadKey(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadKey error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("LoadKey = %x, want %x", got, key)
			}
		})
	}
}
