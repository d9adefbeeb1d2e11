// Package store persists what the admin API manages: adapters created
// through the API and named secrets. Two implementations share one contract:
//
//   - an embedded single-file SQLite database (the default, one replica);
//   - PostgreSQL (several replicas: every write is announced with NOTIFY, and
//     every replica's Watch channel fires, so each pushes the change to its
//     own Envoys).
//
// A write returns only once it is durable (committed and synced): an
// acknowledged write survives kill -9. Secret values are sealed with
// AES-256-GCM before they reach the database, so a database dump shows no
// secret; only GetSecret returns a value, and only the control plane calls it.
//
// The embedded store is SQLite through modernc.org/sqlite rather than bbolt:
// it shares its schema and SQL with the PostgreSQL store (one contract test
// suite runs against both), keeps everything in one file, and in WAL mode
// with synchronous=FULL loses no committed write to kill -9 or power loss
// while readers proceed alongside the writer. Its file format is well known
// and inspectable with the sqlite3 shell, and the driver is pure Go (no cgo,
// so static builds keep working). bbolt, a key-value store, would have us
// hand-roll the encoding, ordering and migrations that SQL already gives.
//
// Names are validated here as well as by the API (ValidateAdapterName,
// ValidateSecretName; failures wrap ErrInvalid), timestamps are UTC, and
// a missing name wraps ErrNotFound.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) for a missing adapter or secret.
var ErrNotFound = errors.New("not found")

// Adapter is an adapter created through the API. Document is its Moment
// `kind: HTTP` YAML document, exactly as applied (header values keep their
// ${{ … }} references unexpanded), so it is validated by the same code as
// the file and exported as is.
type Adapter struct {
	Name      string
	Document  []byte
	UpdatedAt time.Time
}

// SecretMeta describes a stored secret; it never holds the value.
type SecretMeta struct {
	Name      string
	Size      int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store is the persistence contract. Implementations are safe for
// concurrent use.
type Store interface {
	ListAdapters(ctx context.Context) ([]Adapter, error)
	// PutAdapter creates or replaces an adapter; created reports which.
	PutAdapter(ctx context.Context, a Adapter) (created bool, err error)
	DeleteAdapter(ctx context.Context, name string) error

	// SetSecret creates or replaces a secret; created reports which.
	SetSecret(ctx context.Context, name string, value []byte) (meta SecretMeta, created bool, err error)
	ListSecrets(ctx context.Context) ([]SecretMeta, error)
	// GetSecret returns a decrypted value, for the control plane only.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error

	// Changes fires (coalesced) after any write, by this process or, for
	// PostgreSQL, by any replica. It is closed when ctx ends or on Close.
	Changes(ctx context.Context) <-chan struct{}
	Close() error
}
