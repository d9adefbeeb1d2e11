package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

const sqliteNonceColumns = `state, app, provider, verifier, code, error, error_description, account, user_id, used, expires_at`

func sqliteNonce(ctx context.Context, tx *sql.Tx, state string) (*nonceRow, error) {
	var r nonceRow
	var expires string
	err := tx.QueryRowContext(ctx, `SELECT `+sqliteNonceColumns+` FROM oauth_nonces WHERE state = ?`, state).Scan(
		&r.state, &r.app, &r.provider, &r.verifier, &r.code, &r.errCode, &r.errDesc, &r.account, &r.user, &r.used, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrOAuthNonceUnknown
	}
	if err != nil {
		return nil, err
	}
	if r.expiresAt, err = parseSQLiteTime(expires); err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateOAuthNonce implements OAuthStore.
func (s *SQLite) CreateOAuthNonce(ctx context.Context, n OAuthNonce, now time.Time) (OAuthNonce, error) {
	if err := validateOAuthNonce(n); err != nil {
		return OAuthNonce{}, err
	}
	verifier, err := sealOptional(s.box, oauthVerifierName(n.State), n.Verifier)
	if err != nil {
		return OAuthNonce{}, nonceErr("create OAuth nonce", n.State, err)
	}
	out := n
	out.Code, out.Error, out.ErrorDescription = "", "", ""
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_nonces WHERE expires_at < ?`, now.Add(-OAuthNonceRetention).UTC().Format(sqliteTime)); err != nil {
			return err
		}
		row, err := sqliteNonce(ctx, tx, n.State)
		switch {
		case errors.Is(err, ErrOAuthNonceUnknown):
		case err != nil:
			return err
		case row.reusable(n, now):
			out, err = row.open(s.box)
			return err
		case now.Before(row.expiresAt):
			return ErrOAuthNonceUsed
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oauth_nonces (state, app, provider, verifier, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (state) DO UPDATE SET app = excluded.app, provider = excluded.provider, verifier = excluded.verifier,
				code = NULL, error = '', error_description = '', account = '', user_id = '', used = 0,
				created_at = excluded.created_at, expires_at = excluded.expires_at`,
			n.State, n.App, n.Provider, verifier, now.UTC().Format(sqliteTime), n.ExpiresAt.UTC().Format(sqliteTime))
		return err
	})
	if err != nil {
		return OAuthNonce{}, nonceErr("create OAuth nonce", n.State, err)
	}
	return out, nil
}

// SaveOAuthCallback implements OAuthStore.
func (s *SQLite) SaveOAuthCallback(ctx context.Context, state string, cb OAuthCallback, now time.Time) error {
	code, err := sealOAuthCallback(s.box, state, cb)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		row, err := sqliteNonce(ctx, tx, state)
		if err != nil {
			return err
		}
		if err := row.callbackErr(now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE oauth_nonces SET code = ?, error = ?, error_description = ? WHERE state = ?`,
			code, cb.Error, cb.ErrorDescription, state)
		return err
	})
	return wrapNonceErr("save OAuth callback", state, err)
}

// ClaimOAuthNonce implements OAuthStore.
func (s *SQLite) ClaimOAuthNonce(ctx context.Context, state string, by OAuthClaim, now time.Time) (OAuthNonce, error) {
	if err := validateOAuthClaim(state, by); err != nil {
		return OAuthNonce{}, err
	}
	var out OAuthNonce
	pending := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		row, err := sqliteNonce(ctx, tx, state)
		if err != nil {
			return err
		}
		out, pending, err = claimOAuthNonce(row, by, now, s.box, func() error {
			_, err := tx.ExecContext(ctx, `UPDATE oauth_nonces SET account = ?, user_id = ? WHERE state = ?`, by.Account, by.User, state)
			return err
		}, func() error {
			_, err := tx.ExecContext(ctx, `UPDATE oauth_nonces SET used = 1, code = NULL, verifier = NULL WHERE state = ?`, state)
			return err
		})
		return err
	})
	return claimResult(out, pending, state, err)
}

// PutOAuthTokens implements OAuthStore.
func (s *SQLite) PutOAuthTokens(ctx context.Context, key OAuthTokenKey, t OAuthTokens) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	sealed, err := sealOAuthTokens(s.box, key, t)
	if err != nil {
		return err
	}
	var expires any
	if !t.Expiry.IsZero() {
		expires = t.Expiry.UTC().Format(sqliteTime)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (app, provider, account, user_id, sealed, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (app, provider, account, user_id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
			key.App, key.Provider, key.Account, key.User, sealed, expires, now().Format(sqliteTime))
		return err
	})
	if err != nil {
		return fmt.Errorf("put OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	return nil
}

// GetOAuthTokens implements OAuthStore.
func (s *SQLite) GetOAuthTokens(ctx context.Context, key OAuthTokenKey) (OAuthTokens, error) {
	if err := validateOAuthKey(key); err != nil {
		return OAuthTokens{}, err
	}
	var sealed []byte
	var expires sql.NullString
	var updated string
	err := s.db.QueryRowContext(ctx, `SELECT sealed, expires_at, updated_at FROM oauth_tokens WHERE app = ? AND provider = ? AND account = ? AND user_id = ?`,
		key.App, key.Provider, key.Account, key.User).Scan(&sealed, &expires, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return OAuthTokens{}, fmt.Errorf("OAuth tokens (%s/%s): %w", key.App, key.Provider, ErrNotFound)
	}
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("get OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	t, err := openOAuthTokens(s.box, key, sealed)
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("get OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	var err1, err2 error
	if expires.Valid {
		t.Expiry, err1 = parseSQLiteTime(expires.String)
	}
	t.UpdatedAt, err2 = parseSQLiteTime(updated)
	if err := errors.Join(err1, err2); err != nil {
		return OAuthTokens{}, fmt.Errorf("get OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	return t, nil
}

// DeleteOAuthTokens implements OAuthStore.
func (s *SQLite) DeleteOAuthTokens(ctx context.Context, key OAuthTokenKey) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE app = ? AND provider = ? AND account = ? AND user_id = ?`,
			key.App, key.Provider, key.Account, key.User)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	if n == 0 {
		return fmt.Errorf("OAuth tokens (%s/%s): %w", key.App, key.Provider, ErrNotFound)
	}
	return nil
}

// wrapNonceErr names the operation and (a prefix of) the state.
func wrapNonceErr(op, state string, err error) error {
	if err == nil {
		return nil
	}
	return nonceErr(op, state, err)
}

// WithOAuthRefreshLock implements OAuthStore with an in-process lock per
// (database file, key). That is enough: a SQLite store serves one Atlas
// process (several replicas need PostgreSQL, and two processes on one
// file already fail with "database is locked"), so every refresh of a key
// happens in this process. Keying by the file's path also makes two
// stores opened on one file in one process (tests) exclude each other.
func (s *SQLite) WithOAuthRefreshLock(ctx context.Context, key OAuthTokenKey, fn func(ctx context.Context) error) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	unlock, err := sqliteRefreshLocks.lock(ctx, s.path+"\x00"+oauthTokensName(key))
	if err != nil {
		return fmt.Errorf("OAuth refresh lock (%s/%s): %w", key.App, key.Provider, err)
	}
	defer unlock()
	return fn(ctx)
}

var sqliteRefreshLocks = keyLocks{m: map[string]*keyLock{}}

// keyLocks are mutexes by name whose wait respects a context. A name's
// entry lives while someone holds or waits for it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	held chan struct{} // a token in it while locked
	refs int           // holders and waiters; guarded by keyLocks.mu
}

func (l *keyLocks) lock(ctx context.Context, name string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	k := l.m[name]
	if k == nil {
		k = &keyLock{held: make(chan struct{}, 1)}
		l.m[name] = k
	}
	k.refs++
	l.mu.Unlock()
	select {
	case k.held <- struct{}{}:
		return func() { <-k.held; l.done(name, k) }, nil
	case <-ctx.Done():
		l.done(name, k)
		return nil, ctx.Err()
	}
}

func (l *keyLocks) done(name string, k *keyLock) {
	l.mu.Lock()
	if k.refs--; k.refs == 0 {
		delete(l.m, name)
	}
	l.mu.Unlock()
}
