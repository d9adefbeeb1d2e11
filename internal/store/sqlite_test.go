package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

func TestSQLiteConnectionSettings(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "atlas.db"))
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"secure_delete", "1"},
	}
	// Hold several connections at once, so the pool's other connections
	// are checked too, not only the first one.
	conns := make([]any, 0, 3)
	for range 3 {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		for _, tt := range tests {
			t.Run(tt.pragma, func(t *testing.T) {
				var got string
				if err := c.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
				}
			})
		}
	}
}

func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openSQLite(t, filepath.Join(dir, "atlas.db"))
	if _, err := s.PutAdapter(t.Context(), Adapter{Name: "a", Document: adapterDoc("a", "a")}); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{dir: 0o700}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		want[filepath.Join(dir, e.Name())] = 0o600
	}
	if len(entries) < 2 {
		t.Fatalf("data dir holds %d files, want the database and its WAL", len(entries))
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s mode = %04o, want %04o", path, got, mode)
		}
	}
}

func TestSQLiteReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atlas.db")
	s := openSQLite(t, path)
	if _, _, err := s.SetSecret(t.Context(), "K", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	again := openSQLite(t, path)
	if v, err := again.GetSecret(t.Context(), "K"); err != nil || string(v) != "v" {
		t.Fatalf("after reopen GetSecret = %q, %v", v, err)
	}
	var rows, version int
	if err := again.db.QueryRowContext(t.Context(), `SELECT count(*), max(version) FROM schema_version`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != len(sqliteMigrations)-1 {
		t.Errorf("schema_version: %d rows, version %d", rows, version)
	}
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atlas.db")
	s := openSQLite(t, path)
	if _, err := s.db.ExecContext(t.Context(), `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenSQLite(t.Context(), path, testKey)
	if err == nil || !strings.Contains(err.Error(), "schema is version 99, newer than this atlas supports") {
		t.Fatalf("OpenSQLite on a newer schema: %v", err)
	}
}

func TestSQLiteWrongKeyCannotRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atlas.db")
	s := openSQLite(t, path)
	if _, _, err := s.SetSecret(t.Context(), "K", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	other, err := OpenSQLite(t.Context(), path, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.GetSecret(t.Context(), "K")
	if !errors.Is(err, secretbox.ErrOpen) || !strings.Contains(err.Error(), "ATLAS_MASTER_KEY") {
		t.Errorf("GetSecret with another master key: %v, want secretbox.ErrOpen naming ATLAS_MASTER_KEY", err)
	}
}

func TestSQLiteOpenErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		key        []byte
		wantMsg    string
	}{
		{"empty path", "", testKey, "path is empty"},
		{"short key", filepath.Join(t.TempDir(), "a.db"), testKey[:16], "32 bytes"},
		{"parent is a file", filepath.Join(blocker, "atlas.db"), testKey, "data directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenSQLite(t.Context(), tt.path, tt.key)
			if err == nil {
				s.Close()
				t.Fatal("OpenSQLite succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}
