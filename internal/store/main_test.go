package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atlas-gateway/atlas/internal/pgtest"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path) // the durability test's child; never returns
	}
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

var testKey = bytes.Repeat([]byte{0x42}, 32)

// shared is one PostgreSQL server for the package's tests, started on
// first use; each test gets its own database on it.
var shared struct {
	once sync.Once
	srv  *pgtest.Server
	err  error
	n    atomic.Int64
}

// pgDatabase returns the shared server and the DSN of a new empty
// database. It fails the test when PostgreSQL cannot run: never a skip.
func pgDatabase(t *testing.T) (srv *pgtest.Server, db, dsn string) {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = pgtest.Run(context.Background()) })
	if shared.err != nil {
		t.Fatalf("PostgreSQL for the store tests: %v", shared.err)
	}
	db = fmt.Sprintf("store_test_%d", shared.n.Add(1))
	dsn, err := shared.srv.CreateDatabase(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return shared.srv, db, dsn
}

func openPostgres(t *testing.T, dsn string) *Postgres {
	t.Helper()
	p, err := OpenPostgres(t.Context(), dsn, testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSQLite(t *testing.T) Store {
	return openSQLite(t, filepath.Join(t.TempDir(), "atlas.db"))
}

func newPostgres(t *testing.T) Store {
	_, _, dsn := pgDatabase(t)
	return openPostgres(t, dsn)
}
