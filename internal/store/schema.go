package store

import (
	"context"
	"fmt"
)

// Migrations live in code, one list per dialect, applied in order inside one
// transaction; schema_version holds how many have run. Append to the lists;
// never edit a step that has shipped. The two lists keep the same tables
// and columns, so both stores behave alike.

var sqliteMigrations = [][]string{
	1: {
		`CREATE TABLE adapters (
			name       TEXT PRIMARY KEY NOT NULL,
			document   BLOB NOT NULL,
			updated_at TEXT NOT NULL
		) STRICT`,
		`CREATE TABLE secrets (
			name       TEXT PRIMARY KEY NOT NULL,
			sealed     BLOB NOT NULL,
			size       INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			updated_at TEXT NOT NULL
		) STRICT`,
	},
	// The Stripe App Secret Store. scope_user is '' for the account scope,
	// so the key stays NOT NULL; expires_at NULL means never.
	2: {
		`CREATE TABLE app_secrets (
			app        TEXT NOT NULL,
			account    TEXT NOT NULL,
			scope_type TEXT NOT NULL,
			scope_user TEXT NOT NULL,
			name       TEXT NOT NULL,
			id         TEXT NOT NULL UNIQUE,
			sealed     BLOB NOT NULL,
			created_at TEXT NOT NULL,
			expires_at TEXT,
			PRIMARY KEY (app, account, scope_type, scope_user, name)
		) STRICT`,
	},
	// The OAuth broker (oauth.go): logins in progress and each user's
	// tokens. verifier and code are sealed and NULL when absent; account and
	// user_id are '' until the first signed poll binds the login.
	3: {
		`CREATE TABLE oauth_nonces (
			state             TEXT PRIMARY KEY NOT NULL,
			app               TEXT NOT NULL,
			provider          TEXT NOT NULL,
			verifier          BLOB,
			code              BLOB,
			error             TEXT NOT NULL DEFAULT '',
			error_description TEXT NOT NULL DEFAULT '',
			account           TEXT NOT NULL DEFAULT '',
			user_id           TEXT NOT NULL DEFAULT '',
			used              INTEGER NOT NULL DEFAULT 0,
			created_at        TEXT NOT NULL,
			expires_at        TEXT NOT NULL
		) STRICT`,
		`CREATE INDEX oauth_nonces_expires_at ON oauth_nonces (expires_at)`,
		`CREATE TABLE oauth_tokens (
			app        TEXT NOT NULL,
			provider   TEXT NOT NULL,
			account    TEXT NOT NULL,
			user_id    TEXT NOT NULL,
			sealed     BLOB NOT NULL,
			expires_at TEXT,
			updated_at TEXT NOT NULL,
			PRIMARY KEY (app, provider, account, user_id)
		) STRICT`,
	},
}

var postgresMigrations = [][]string{
	1: {
		`CREATE TABLE adapters (
			name       TEXT PRIMARY KEY,
			document   BYTEA NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL
		)`,
		`CREATE TABLE secrets (
			name       TEXT PRIMARY KEY,
			sealed     BYTEA NOT NULL,
			size       INTEGER NOT NULL,
			created_at TIMESTAMPTZ NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL
		)`,
	},
	2: {
		`CREATE TABLE app_secrets (
			app        TEXT NOT NULL,
			account    TEXT NOT NULL,
			scope_type TEXT NOT NULL,
			scope_user TEXT NOT NULL,
			name       TEXT NOT NULL,
			id         TEXT NOT NULL UNIQUE,
			sealed     BYTEA NOT NULL,
			created_at TIMESTAMPTZ NOT NULL,
			expires_at TIMESTAMPTZ,
			PRIMARY KEY (app, account, scope_type, scope_user, name)
		)`,
	},
	3: {
		`CREATE TABLE oauth_nonces (
			state             TEXT PRIMARY KEY,
			app               TEXT NOT NULL,
			provider          TEXT NOT NULL,
			verifier          BYTEA,
			code              BYTEA,
			error             TEXT NOT NULL DEFAULT '',
			error_description TEXT NOT NULL DEFAULT '',
			account           TEXT NOT NULL DEFAULT '',
			user_id           TEXT NOT NULL DEFAULT '',
			used              BOOLEAN NOT NULL DEFAULT FALSE,
			created_at        TIMESTAMPTZ NOT NULL,
			expires_at        TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX oauth_nonces_expires_at ON oauth_nonces (expires_at)`,
		`CREATE TABLE oauth_tokens (
			app        TEXT NOT NULL,
			provider   TEXT NOT NULL,
			account    TEXT NOT NULL,
			user_id    TEXT NOT NULL,
			sealed     BYTEA NOT NULL,
			expires_at TIMESTAMPTZ,
			updated_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (app, provider, account, user_id)
		)`,
	},
}

// migrationTx is the part of a transaction the runner needs; each store
// adapts its own driver's transaction.
type migrationTx interface {
	exec(ctx context.Context, sql string) error
	queryInt(ctx context.Context, sql string) (int, error)
}

// migrate brings the schema up to date within tx, which the caller
// commits. Index 0 of steps is unused: version N is steps[N].
func migrate(ctx context.Context, tx migrationTx, steps [][]string) error {
	if err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	have, err := tx.queryInt(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`)
	if err != nil {
		return fmt.Errorf("read schema_version: %w", err)
	}
	latest := len(steps) - 1
	if have > latest {
		return fmt.Errorf("the database schema is version %d, newer than this atlas supports (%d): run a newer atlas, or restore a backup made by this version", have, latest)
	}
	for v := have + 1; v <= latest; v++ {
		for _, stmt := range steps[v] {
			if err := tx.exec(ctx, stmt); err != nil {
				return fmt.Errorf("schema migration %d: %w", v, err)
			}
		}
	}
	if have == latest {
		return nil
	}
	if err := tx.exec(ctx, `DELETE FROM schema_version`); err != nil {
		return fmt.Errorf("update schema_version: %w", err)
	}
	if err := tx.exec(ctx, fmt.Sprintf(`INSERT INTO schema_version (version) VALUES (%d)`, latest)); err != nil {
		return fmt.Errorf("update schema_version: %w", err)
	}
	return nil
}
