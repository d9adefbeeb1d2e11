package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// App secret writes run in their own transactions, not through write: they
// are data, so they fire no Changes.

const sqliteScopeWhere = `app = ? AND account = ? AND scope_type = ? AND scope_user = ?`

func sqliteScopeArgs(s AppSecretScope) []any {
	return []any{s.App, s.Account, s.Type, s.User}
}

// PutAppSecret implements AppSecretStore. SQLite transactions here begin
// IMMEDIATE (the DSN's _txlock), so the count and the insert cannot
// interleave with another writer's.
func (s *SQLite) PutAppSecret(ctx context.Context, sec AppSecret, limit int, now time.Time) (created bool, err error) {
	if err := validateAppSecret(sec, limit); err != nil {
		return false, err
	}
	sealed, err := s.box.Seal(sec.sealName(), sec.Payload)
	if err != nil {
		return false, fmt.Errorf("put %s: %w", sec.AppSecretKey, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		scope := sqliteScopeArgs(sec.AppSecretScope)
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_secrets WHERE `+sqliteScopeWhere+` AND expires_at IS NOT NULL AND expires_at <= ?`,
			append(scope, sqliteStamp(now))...); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM app_secrets WHERE `+sqliteScopeWhere+` AND name = ?`, append(scope, sec.Name)...).Scan(&one)
		if created = errors.Is(err, sql.ErrNoRows); err != nil && !created {
			return err
		}
		if created {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM app_secrets WHERE `+sqliteScopeWhere, scope...).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return limitError(sec.AppSecretKey, limit)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO app_secrets (app, account, scope_type, scope_user, name, id, sealed, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (app, account, scope_type, scope_user, name) DO UPDATE SET
				id = excluded.id, sealed = excluded.sealed, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			sec.App, sec.Account, sec.Type, sec.User, sec.Name, sec.ID, sealed, sqliteStamp(sec.Created), sqliteExpiry(sec.ExpiresAt))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return false, err
		}
		return false, fmt.Errorf("put %s: %w", sec.AppSecretKey, err)
	}
	return created, nil
}

// FindAppSecret implements AppSecretStore.
func (s *SQLite) FindAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error) {
	if err := validateAppSecretKey(key); err != nil {
		return AppSecret{}, err
	}
	row := s.db.QueryRowContext(ctx, `SELECT id, sealed, created_at, expires_at FROM app_secrets WHERE `+sqliteScopeWhere+` AND name = ?`,
		append(sqliteScopeArgs(key.AppSecretScope), key.Name)...)
	sec, sealed, err := scanSQLiteAppSecret(row.Scan, key)
	if errors.Is(err, sql.ErrNoRows) {
		return AppSecret{}, appSecretNotFound(key)
	}
	if err != nil {
		return AppSecret{}, fmt.Errorf("find %s: %w", key, err)
	}
	if expired(sec, now) {
		// Only this version of it: a replacement written meanwhile stays.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM app_secrets WHERE id = ?`, sec.ID); err != nil {
			return AppSecret{}, fmt.Errorf("delete expired %s: %w", key, s.hint(err))
		}
		return AppSecret{}, appSecretNotFound(key)
	}
	if sec.Payload, err = s.box.Open(key.sealName(), sealed); err != nil {
		return AppSecret{}, err
	}
	return sec, nil
}

// ListAppSecrets implements AppSecretStore.
func (s *SQLite) ListAppSecrets(ctx context.Context, scope AppSecretScope, withPayload bool, now time.Time) ([]AppSecret, error) {
	if err := ValidateAppSecretScope(scope); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, id, sealed, created_at, expires_at FROM app_secrets WHERE `+sqliteScopeWhere+`
		ORDER BY created_at DESC, id DESC`, sqliteScopeArgs(scope)...)
	if err != nil {
		return nil, fmt.Errorf("list app secrets: %w", err)
	}
	defer rows.Close()
	out, sawExpired, err := collectAppSecrets(rows, scanSQLiteAppSecret, s.box, scope, withPayload, now)
	if err != nil {
		return nil, err
	}
	rows.Close()
	if sawExpired {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM app_secrets WHERE `+sqliteScopeWhere+` AND expires_at IS NOT NULL AND expires_at <= ?`,
			append(sqliteScopeArgs(scope), sqliteStamp(now))...); err != nil {
			return nil, fmt.Errorf("delete expired app secrets: %w", s.hint(err))
		}
	}
	return out, nil
}

// DeleteAppSecret implements AppSecretStore.
func (s *SQLite) DeleteAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error) {
	if err := validateAppSecretKey(key); err != nil {
		return AppSecret{}, err
	}
	var sec AppSecret
	var sealed []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `SELECT id, sealed, created_at, expires_at FROM app_secrets WHERE `+sqliteScopeWhere+` AND name = ?`,
			append(sqliteScopeArgs(key.AppSecretScope), key.Name)...)
		var err error
		if sec, sealed, err = scanSQLiteAppSecret(row.Scan, key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM app_secrets WHERE id = ?`, sec.ID)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return AppSecret{}, appSecretNotFound(key)
	case err != nil:
		return AppSecret{}, fmt.Errorf("delete %s: %w", key, err)
	case expired(sec, now):
		return AppSecret{}, appSecretNotFound(key)
	}
	if sec.Payload, err = s.box.Open(key.sealName(), sealed); err != nil {
		return AppSecret{}, err
	}
	return sec, nil
}

// CountAppSecrets implements AppSecretStore.
func (s *SQLite) CountAppSecrets(ctx context.Context, scope AppSecretScope, now time.Time) (int, error) {
	if err := ValidateAppSecretScope(scope); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM app_secrets WHERE `+sqliteScopeWhere+` AND (expires_at IS NULL OR expires_at > ?)`,
		append(sqliteScopeArgs(scope), sqliteStamp(now))...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count app secrets: %w", err)
	}
	return n, nil
}

// scanSQLiteAppSecret scans id, sealed, created_at, expires_at into a
// secret with key, and returns the sealed payload beside it.
func scanSQLiteAppSecret(scan func(dest ...any) error, key AppSecretKey) (AppSecret, []byte, error) {
	sec := AppSecret{AppSecretKey: key}
	var sealed []byte
	var created string
	var expires sql.NullString
	if err := scan(&sec.ID, &sealed, &created, &expires); err != nil {
		return AppSecret{}, nil, err
	}
	var err error
	if sec.Created, err = parseSQLiteTime(created); err != nil {
		return AppSecret{}, nil, err
	}
	if expires.Valid {
		if sec.ExpiresAt, err = parseSQLiteTime(expires.String); err != nil {
			return AppSecret{}, nil, err
		}
	}
	return sec, sealed, nil
}

func sqliteStamp(t time.Time) string { return t.UTC().Format(sqliteTime) }

func sqliteExpiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqliteStamp(t)
}

func limitError(k AppSecretKey, limit int) error {
	scope := "account"
	if k.Type == ScopeUser {
		scope = "user " + k.User
	}
	return fmt.Errorf("the %s scope of app %s in account %s already holds %d secrets, the most a scope may hold: %w", scope, k.App, k.Account, limit, ErrLimit)
}
