package admin

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

func TestLoadOrCreateToken(t *testing.T) {
	t.Run("environment wins", func(t *testing.T) {
		t.Setenv(datadir.EnvAdminToken, "from-env")
		dir := t.TempDir()
		tok, generated, err := LoadOrCreateToken(dir)
		if err != nil || tok != "from-env" || generated {
			t.Fatalf("= %q, %v, %v", tok, generated, err)
		}
		if _, err := os.Stat(datadir.TokenFile(dir)); !os.IsNotExist(err) {
			t.Errorf("a token file was written although %s is set", datadir.EnvAdminToken)
		}
	})
	t.Run("generated once, then read", func(t *testing.T) {
		t.Setenv(datadir.EnvAdminToken, "")
		dir := filepath.Join(t.TempDir(), "state")
		tok, generated, err := LoadOrCreateToken(dir)
		if err != nil || !generated {
			t.Fatalf("= %v, %v", generated, err)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) != 32 {
			t.Errorf("token %q is not 32 base64url bytes", tok)
		}
		info, err := os.Stat(datadir.TokenFile(dir))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("token file mode = %v, %v; want 0600", info.Mode().Perm(), err)
		}
		if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
			t.Errorf("data dir mode = %v, want 0700", info.Mode().Perm())
		}
		again, generated, err := LoadOrCreateToken(dir)
		if err != nil || generated || again != tok {
			t.Errorf("second call = %v, %v; want the same token, not generated", generated, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("temporary files left: %v", entries)
		}
	})
	errorTests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"readable by others", "tok", 0o644, "chmod 600"},
		{"readable by group", "tok", 0o640, "chmod 600"},
		{"empty", "\n", 0o600, "is empty; delete it"},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(datadir.EnvAdminToken, "")
			dir := t.TempDir()
			path := datadir.TokenFile(dir)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask-proof
				t.Fatal(err)
			}
			tok, _, err := LoadOrCreateToken(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if tok != "" || strings.Contains(err.Error(), "tok\n") {
				t.Errorf("the token leaked: %q, %v", tok, err)
			}
		})
	}
	t.Run("trailing newline is trimmed", func(t *testing.T) {
		t.Setenv(datadir.EnvAdminToken, "")
		dir := t.TempDir()
		if err := os.WriteFile(datadir.TokenFile(dir), []byte("abc\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if tok, _, err := LoadOrCreateToken(dir); err != nil || tok != "abc" {
			t.Errorf("= %q, %v", tok, err)
		}
	})
}
