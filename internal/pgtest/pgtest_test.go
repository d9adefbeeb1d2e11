package pgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStartServesQueriesAndStops(t *testing.T) {
	var s *Server
	t.Run("start", func(t *testing.T) {
		s = StartServer(t)
		if !strings.HasPrefix(s.DSN, "postgres://postgres@127.0.0.1:") {
			t.Errorf("DSN = %q, want a loopback DSN", s.DSN)
		}
		out, err := s.Command(t.Context(), "psql", "-XAtc", "SHOW fsync", "postgres").CombinedOutput()
		if err != nil {
			t.Fatalf("psql: %v: %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "on" {
			t.Errorf("fsync = %q, want on", got)
		}
		out, err = s.Command(t.Context(), "psql", "-XAtc", "SHOW listen_addresses", "postgres").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "127.0.0.1" {
			t.Errorf("listen_addresses = %q (%v), want 127.0.0.1", out, err)
		}
		dsn, err := s.CreateDatabase(t.Context(), "other")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(dsn, "/other?sslmode=disable") {
			t.Errorf("CreateDatabase DSN = %q", dsn)
		}
		dump, err := s.Dump(t.Context(), "other")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(dump, []byte("PostgreSQL database dump")) {
			t.Errorf("dump does not look like pg_dump output:\n%s", dump)
		}
	})
	// The subtest's cleanup has run: the directory is gone.
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists after cleanup (stat: %v)", s.dir, err)
	}
}

func TestBinDirHasServerTools(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range serverTools {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Errorf("%s: %v", tool, err)
		}
	}
}

func TestNotInstalledNamesThePackage(t *testing.T) {
	if !strings.Contains(ErrNotInstalled.Error(), "apt-get install postgresql") {
		t.Errorf("ErrNotInstalled = %q, want it to name the Debian package", ErrNotInstalled)
	}
}

func TestReapOrphansRemovesDeadOwnersClusters(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := cmd.Process.Pid
	tests := []struct {
		name     string
		owner    string
		wantGone bool
	}{
		{"dead owner", strconv.Itoa(deadPID), true},
		{"live owner", strconv.Itoa(os.Getpid()), false},
		{"no owner file", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", dirPrefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if tt.owner != "" {
				if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(tt.owner), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			reapOrphans(t.TempDir(), nil)
			_, err = os.Stat(dir)
			if gone := os.IsNotExist(err); gone != tt.wantGone {
				t.Errorf("removed = %v, want %v", gone, tt.wantGone)
			}
		})
	}
}
