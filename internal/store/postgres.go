package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atlas-gateway/atlas/internal/secretbox"
)

// Postgres is the store for several replicas sharing one PostgreSQL
// database. Every write transaction sends NOTIFY atlas_changes before it
// commits (PostgreSQL delivers it only if the commit succeeds), and every
// replica LISTENs on a dedicated connection, so each one's Changes fire.
//
// The tables (adapters, secrets, schema_version) live in the DSN's first
// search_path schema; to keep them apart from other applications' tables,
// give Atlas its own database, or a schema via
// options=-csearch_path=atlas in the DSN.
type Postgres struct {
	pool *pgxpool.Pool
	// locks holds the connections of WithOAuthRefreshLock's advisory
	// locks, apart from pool: a connection holding a lock for the length
	// of a refresh must not be one that the refresh's own queries (or any
	// other) wait for, or a few concurrent refreshes would starve the
	// pool and deadlock. Same configuration as pool; it connects lazily.
	locks   *pgxpool.Pool
	box     *secretbox.Box
	changes *notifier
	log     *slog.Logger

	listenCfg   *pgx.ConnConfig
	listenPID   atomic.Uint32 // backend pid of the LISTEN connection, for tests
	stopListen  context.CancelFunc
	listenEnded chan struct{}
	once        sync.Once
}

var _ Store = (*Postgres)(nil)

// changesChannel is the NOTIFY channel all replicas share.
const changesChannel = "atlas_changes"

// migrationLock is the pg_advisory_xact_lock key serializing migrations
// across replicas that start together ("atlas" in ASCII).
const migrationLock int64 = 0x61746c6173

// OpenPostgres connects to the database at dsn (postgres://…), applies
// pending schema migrations, and starts listening for other replicas'
// changes; it returns once that LISTEN is in place, so no change made after
// it returns is missed. key is the 32-byte master key that seals secret
// values: all replicas must share it.
func OpenPostgres(ctx context.Context, dsn string, key []byte, opts ...Option) (*Postgres, error) {
	o := buildOptions(opts)
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL store: %w (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL store: %w", err)
	}
	lockCfg := cfg.Copy()
	lockCfg.MinConns, lockCfg.MinIdleConns = 0, 0 // none held open for nothing
	locks, err := pgxpool.NewWithConfig(ctx, lockCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL store: %w", err)
	}
	p := &Postgres{pool: pool, locks: locks, box: box, changes: newNotifier(), log: o.logger, listenCfg: listenerConfig(cfg.ConnConfig)}
	if err := p.init(ctx); err != nil {
		pool.Close()
		locks.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) init(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("PostgreSQL store: connect to %s: %w (is the server running and the DSN right?)", p.where(), err)
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		return migrate(ctx, pgMigrationTx{tx}, postgresMigrations)
	})
	if err != nil {
		return fmt.Errorf("PostgreSQL store %s: %w", p.where(), err)
	}
	conn, err := p.connectListener(ctx)
	if err != nil {
		return fmt.Errorf("PostgreSQL store %s: %w", p.where(), err)
	}
	listenCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stopListen, p.listenEnded = cancel, make(chan struct{})
	go p.listen(listenCtx, conn)
	return nil
}

// where names the server and database for errors and logs, never the
// password.
func (p *Postgres) where() string {
	c := p.pool.Config().ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

type pgMigrationTx struct{ tx pgx.Tx }

func (m pgMigrationTx) exec(ctx context.Context, q string) error {
	_, err := m.tx.Exec(ctx, q)
	return err
}

func (m pgMigrationTx) queryInt(ctx context.Context, q string) (n int, err error) {
	err = m.tx.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// write runs fn in a transaction that also sends NOTIFY, and fires this
// process's Changes once it has committed. Other replicas fire when the
// notification reaches them; this one also receives its own, a duplicate
// its consumers absorb (signals coalesce), in exchange for not depending on
// the LISTEN connection for its own writes.
func (p *Postgres) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, changesChannel)
		return err
	})
	if err != nil {
		return err
	}
	p.changes.fire()
	return nil
}

// Changes implements Store: it fires after this process's writes, after any
// replica's (through LISTEN), and once after the LISTEN connection comes
// back from a drop, since changes made meanwhile were not announced to it.
func (p *Postgres) Changes(ctx context.Context) <-chan struct{} { return p.changes.subscribe(ctx) }

// Close implements Store.
func (p *Postgres) Close() error {
	p.once.Do(func() {
		p.stopListen()
		<-p.listenEnded
		p.pool.Close()
		p.locks.Close()
		p.changes.close()
	})
	return nil
}
