package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

// SQLite is the embedded store: one database file (plus its -wal and -shm
// while open) for a single Atlas process. Changes fire for this process's
// writes only; several replicas need Postgres.
type SQLite struct {
	db      *sql.DB
	box     *secretbox.Box
	changes *notifier
	path    string
	once    sync.Once
}

var _ Store = (*SQLite)(nil)

// sqliteBusyTimeout is how long a write waits for another writer's lock
// before failing with "database is locked".
const sqliteBusyTimeout = 10 * time.Second

const sqliteMaxConns = 8

// OpenSQLite opens (creating if needed) the database at path, a file the
// process's user alone can read, and applies pending schema migrations.
// key is the 32-byte master key that seals secret values.
//
// Every connection runs with journal_mode=WAL (readers never block the
// writer), synchronous=FULL (a commit returns only after the WAL is
// fsynced, so an acknowledged write survives kill -9 and power loss),
// busy_timeout (writers queue instead of failing), foreign_keys=ON, and
// secure_delete (freed pages are zeroed). Write transactions take the
// write lock when they begin (BEGIN IMMEDIATE), so a read-then-write
// transaction never fails to upgrade its lock.
func OpenSQLite(ctx context.Context, path string, key []byte, opts ...Option) (*SQLite, error) {
	_ = buildOptions(opts) // none applies yet; accepted so both stores open alike
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("open SQLite store: the database path is empty; pass --data-dir")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	if err := createPrivateFile(abs); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", sqliteDSN(abs))
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", abs, err)
	}
	// Writers serialize on SQLite's lock anyway; a few connections let
	// readers proceed beside the writer without holding many open.
	db.SetMaxOpenConns(sqliteMaxConns)
	db.SetMaxIdleConns(sqliteMaxConns)
	s := &SQLite{db: db, box: box, changes: newNotifier(), path: abs}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite store %s: %w", abs, err)
	}
	return s, nil
}

// createPrivateFile creates the database file 0600 in a 0700 directory
// before SQLite does (SQLite would use 0644); the -wal and -shm files copy
// the database file's mode.
func createPrivateFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the data directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open SQLite store %s: %w (check the data directory's owner and permissions)", path, err)
	}
	return f.Close()
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "secure_delete(ON)")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

func (s *SQLite) init(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("the database is in journal mode %q, not WAL; put the data directory on a local filesystem", mode)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := migrate(ctx, sqlMigrationTx{tx}, sqliteMigrations); err != nil {
		return err
	}
	return tx.Commit()
}

type sqlMigrationTx struct{ tx *sql.Tx }

func (m sqlMigrationTx) exec(ctx context.Context, q string) error {
	_, err := m.tx.ExecContext(ctx, q)
	return err
}

func (m sqlMigrationTx) queryInt(ctx context.Context, q string) (n int, err error) {
	err = m.tx.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

// write runs fn in a write transaction and, once it has committed (and so
// is on disk), fires Changes.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.tx(ctx, fn); err != nil {
		return err
	}
	s.changes.fire()
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE, so a read-then-write
// never races another writer) and commits it. Unlike write it does not fire
// Changes: app secrets and OAuth state are not configuration.
func (s *SQLite) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.hint(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.hint(err)
	}
	if err := tx.Commit(); err != nil {
		return s.hint(err)
	}
	return nil
}

// hint explains the one SQLite error an operator can act on.
func (s *SQLite) hint(err error) error {
	if strings.Contains(err.Error(), "database is locked") {
		return fmt.Errorf("%w (another process has held %s for over %s: run one atlas per data directory, and PostgreSQL for several replicas)", err, s.path, sqliteBusyTimeout)
	}
	return err
}

// Changes implements Store.
func (s *SQLite) Changes(ctx context.Context) <-chan struct{} { return s.changes.subscribe(ctx) }

// Close implements Store. It checkpoints the WAL into the database file.
func (s *SQLite) Close() error {
	var err error
	s.once.Do(func() {
		s.changes.close()
		err = s.db.Close()
	})
	return err
}

// sqliteTime is how timestamps are stored: UTC text that sorts in time
// order and reads well in the sqlite3 shell.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTime, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}
