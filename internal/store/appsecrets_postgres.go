package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// App secret writes use plain transactions, not write: they send no NOTIFY
// and fire no Changes, because they are data, not configuration.

const pgScopeWhere = `app = $1 AND account = $2 AND scope_type = $3 AND scope_user = $4`

func pgScopeArgs(s AppSecretScope) []any { return []any{s.App, s.Account, s.Type, s.User} }

// appSecretLockClass is the first key of the two-key advisory lock that
// serialises writers of one scope ("apps" in ASCII). Two-key locks do not
// share a key space with migrationLock's one-key lock.
const appSecretLockClass int32 = 0x61707073

// scopeLockKey hashes a scope into the advisory lock's second key. Two
// scopes that collide only wait for each other; correctness is unaffected.
func scopeLockKey(s AppSecretScope) int32 {
	h := fnv.New32a()
	h.Write([]byte(AppSecretKey{AppSecretScope: s}.sealName()))
	return int32(h.Sum32())
}

// PutAppSecret implements AppSecretStore. Writers of one scope take a
// transaction-scoped advisory lock first, so on every replica the count
// and the insert happen as one step: under READ COMMITTED two writers
// would otherwise both see room for one more secret.
func (p *Postgres) PutAppSecret(ctx context.Context, sec AppSecret, limit int, now time.Time) (created bool, err error) {
	if err := validateAppSecret(sec, limit); err != nil {
		return false, err
	}
	sealed, err := p.box.Seal(sec.sealName(), sec.Payload)
	if err != nil {
		return false, fmt.Errorf("put %s: %w", sec.AppSecretKey, err)
	}
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, appSecretLockClass, scopeLockKey(sec.AppSecretScope)); err != nil {
			return fmt.Errorf("take the scope lock: %w", err)
		}
		scope := pgScopeArgs(sec.AppSecretScope)
		if _, err := tx.Exec(ctx, `DELETE FROM app_secrets WHERE `+pgScopeWhere+` AND expires_at <= $5`, append(scope, now)...); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_secrets WHERE `+pgScopeWhere+` AND name = $5)`, append(scope, sec.Name)...).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM app_secrets WHERE `+pgScopeWhere, scope...).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return limitError(sec.AppSecretKey, limit)
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO app_secrets (app, account, scope_type, scope_user, name, id, sealed, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (app, account, scope_type, scope_user, name) DO UPDATE SET
				id = EXCLUDED.id, sealed = EXCLUDED.sealed, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
			RETURNING xmax = 0`,
			sec.App, sec.Account, sec.Type, sec.User, sec.Name, sec.ID, sealed, sec.Created.UTC(), pgExpiry(sec.ExpiresAt)).Scan(&created)
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
func (p *Postgres) FindAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error) {
	if err := validateAppSecretKey(key); err != nil {
		return AppSecret{}, err
	}
	row := p.pool.QueryRow(ctx, `SELECT id, sealed, created_at, expires_at FROM app_secrets WHERE `+pgScopeWhere+` AND name = $5`,
		append(pgScopeArgs(key.AppSecretScope), key.Name)...)
	sec, sealed, err := scanPgAppSecret(row.Scan, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return AppSecret{}, appSecretNotFound(key)
	}
	if err != nil {
		return AppSecret{}, fmt.Errorf("find %s: %w", key, err)
	}
	if expired(sec, now) {
		// Only this version of it: a replacement written meanwhile stays.
		if _, err := p.pool.Exec(ctx, `DELETE FROM app_secrets WHERE id = $1`, sec.ID); err != nil {
			return AppSecret{}, fmt.Errorf("delete expired %s: %w", key, err)
		}
		return AppSecret{}, appSecretNotFound(key)
	}
	if sec.Payload, err = p.box.Open(key.sealName(), sealed); err != nil {
		return AppSecret{}, err
	}
	return sec, nil
}

// ListAppSecrets implements AppSecretStore.
func (p *Postgres) ListAppSecrets(ctx context.Context, scope AppSecretScope, withPayload bool, now time.Time) ([]AppSecret, error) {
	if err := ValidateAppSecretScope(scope); err != nil {
		return nil, err
	}
	rows, err := p.pool.Query(ctx, `SELECT name, id, sealed, created_at, expires_at FROM app_secrets WHERE `+pgScopeWhere+`
		ORDER BY created_at DESC, id DESC`, pgScopeArgs(scope)...)
	if err != nil {
		return nil, fmt.Errorf("list app secrets: %w", err)
	}
	defer rows.Close()
	out, sawExpired, err := collectAppSecrets(rows, scanPgAppSecret, p.box, scope, withPayload, now)
	if err != nil {
		return nil, err
	}
	rows.Close()
	if sawExpired {
		if _, err := p.pool.Exec(ctx, `DELETE FROM app_secrets WHERE `+pgScopeWhere+` AND expires_at <= $5`, append(pgScopeArgs(scope), now)...); err != nil {
			return nil, fmt.Errorf("delete expired app secrets: %w", err)
		}
	}
	return out, nil
}

// DeleteAppSecret implements AppSecretStore.
func (p *Postgres) DeleteAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error) {
	if err := validateAppSecretKey(key); err != nil {
		return AppSecret{}, err
	}
	var sec AppSecret
	var sealed []byte
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `DELETE FROM app_secrets WHERE `+pgScopeWhere+` AND name = $5 RETURNING id, sealed, created_at, expires_at`,
			append(pgScopeArgs(key.AppSecretScope), key.Name)...)
		var err error
		sec, sealed, err = scanPgAppSecret(row.Scan, key)
		return err
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return AppSecret{}, appSecretNotFound(key)
	case err != nil:
		return AppSecret{}, fmt.Errorf("delete %s: %w", key, err)
	case expired(sec, now):
		return AppSecret{}, appSecretNotFound(key)
	}
	if sec.Payload, err = p.box.Open(key.sealName(), sealed); err != nil {
		return AppSecret{}, err
	}
	return sec, nil
}

// CountAppSecrets implements AppSecretStore.
func (p *Postgres) CountAppSecrets(ctx context.Context, scope AppSecretScope, now time.Time) (int, error) {
	if err := ValidateAppSecretScope(scope); err != nil {
		return 0, err
	}
	var n int
	err := p.pool.QueryRow(ctx, `SELECT COUNT(*) FROM app_secrets WHERE `+pgScopeWhere+` AND (expires_at IS NULL OR expires_at > $5)`,
		append(pgScopeArgs(scope), now)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count app secrets: %w", err)
	}
	return n, nil
}

// scanPgAppSecret scans id, sealed, created_at, expires_at into a secret
// with key, and returns the sealed payload beside it.
func scanPgAppSecret(scan func(dest ...any) error, key AppSecretKey) (AppSecret, []byte, error) {
	sec := AppSecret{AppSecretKey: key}
	var sealed []byte
	var expires *time.Time
	if err := scan(&sec.ID, &sealed, &sec.Created, &expires); err != nil {
		return AppSecret{}, nil, err
	}
	sec.Created = sec.Created.UTC()
	if expires != nil {
		sec.ExpiresAt = expires.UTC()
	}
	return sec, sealed, nil
}

func pgExpiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
