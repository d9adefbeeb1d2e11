package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OAuth writes run in plain transactions, without write's NOTIFY: they are
// not configuration, and must not reload every replica. Rows are locked
// with SELECT … FOR UPDATE, so replicas racing on one nonce serialize.

const pgNonceColumns = `state, app, provider, verifier, code, error, error_description, account, user_id, used, expires_at`

func pgNonce(ctx context.Context, tx pgx.Tx, state string) (*nonceRow, error) {
	var r nonceRow
	err := tx.QueryRow(ctx, `SELECT `+pgNonceColumns+` FROM oauth_nonces WHERE state = $1 FOR UPDATE`, state).Scan(
		&r.state, &r.app, &r.provider, &r.verifier, &r.code, &r.errCode, &r.errDesc, &r.account, &r.user, &r.used, &r.expiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrOAuthNonceUnknown
	}
	if err != nil {
		return nil, err
	}
	r.expiresAt = r.expiresAt.UTC()
	return &r, nil
}

// CreateOAuthNonce implements OAuthStore.
func (p *Postgres) CreateOAuthNonce(ctx context.Context, n OAuthNonce, now time.Time) (OAuthNonce, error) {
	if err := validateOAuthNonce(n); err != nil {
		return OAuthNonce{}, err
	}
	verifier, err := sealOptional(p.box, oauthVerifierName(n.State), n.Verifier)
	if err != nil {
		return OAuthNonce{}, nonceErr("create OAuth nonce", n.State, err)
	}
	out := n
	out.Code, out.Error, out.ErrorDescription = "", "", ""
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_nonces WHERE expires_at < $1`, now.Add(-OAuthNonceRetention)); err != nil {
			return err
		}
		// Insert first, so two replicas creating one state cannot both
		// miss it; then look at whichever row exists.
		tag, err := tx.Exec(ctx, `INSERT INTO oauth_nonces (state, app, provider, verifier, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (state) DO NOTHING`, n.State, n.App, n.Provider, verifier, now, n.ExpiresAt)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		row, err := pgNonce(ctx, tx, n.State)
		switch {
		case err != nil:
			return err
		case row.reusable(n, now):
			out, err = row.open(p.box)
			return err
		case now.Before(row.expiresAt):
			return ErrOAuthNonceUsed
		}
		_, err = tx.Exec(ctx, `UPDATE oauth_nonces SET app = $2, provider = $3, verifier = $4, code = NULL, error = '', error_description = '',
			account = '', user_id = '', used = FALSE, created_at = $5, expires_at = $6 WHERE state = $1`,
			n.State, n.App, n.Provider, verifier, now, n.ExpiresAt)
		return err
	})
	if err != nil {
		return OAuthNonce{}, nonceErr("create OAuth nonce", n.State, err)
	}
	return out, nil
}

// SaveOAuthCallback implements OAuthStore.
func (p *Postgres) SaveOAuthCallback(ctx context.Context, state string, cb OAuthCallback, now time.Time) error {
	code, err := sealOAuthCallback(p.box, state, cb)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		row, err := pgNonce(ctx, tx, state)
		if err != nil {
			return err
		}
		if err := row.callbackErr(now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE oauth_nonces SET code = $2, error = $3, error_description = $4 WHERE state = $1`,
			state, code, cb.Error, cb.ErrorDescription)
		return err
	})
	return wrapNonceErr("save OAuth callback", state, err)
}

// ClaimOAuthNonce implements OAuthStore.
func (p *Postgres) ClaimOAuthNonce(ctx context.Context, state string, by OAuthClaim, now time.Time) (OAuthNonce, error) {
	if err := validateOAuthClaim(state, by); err != nil {
		return OAuthNonce{}, err
	}
	var out OAuthNonce
	pending := false
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		row, err := pgNonce(ctx, tx, state)
		if err != nil {
			return err
		}
		out, pending, err = claimOAuthNonce(row, by, now, p.box, func() error {
			_, err := tx.Exec(ctx, `UPDATE oauth_nonces SET account = $2, user_id = $3 WHERE state = $1`, state, by.Account, by.User)
			return err
		}, func() error {
			_, err := tx.Exec(ctx, `UPDATE oauth_nonces SET used = TRUE, code = NULL, verifier = NULL WHERE state = $1`, state)
			return err
		})
		return err
	})
	return claimResult(out, pending, state, err)
}

// PutOAuthTokens implements OAuthStore.
func (p *Postgres) PutOAuthTokens(ctx context.Context, key OAuthTokenKey, t OAuthTokens) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	sealed, err := sealOAuthTokens(p.box, key, t)
	if err != nil {
		return err
	}
	var expires *time.Time
	if !t.Expiry.IsZero() {
		expires = &t.Expiry
	}
	_, err = p.pool.Exec(ctx, `INSERT INTO oauth_tokens (app, provider, account, user_id, sealed, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (app, provider, account, user_id) DO UPDATE SET sealed = EXCLUDED.sealed, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at`,
		key.App, key.Provider, key.Account, key.User, sealed, expires, now())
	if err != nil {
		return fmt.Errorf("put OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	return nil
}

// GetOAuthTokens implements OAuthStore.
func (p *Postgres) GetOAuthTokens(ctx context.Context, key OAuthTokenKey) (OAuthTokens, error) {
	if err := validateOAuthKey(key); err != nil {
		return OAuthTokens{}, err
	}
	var sealed []byte
	var expires *time.Time
	var updated time.Time
	err := p.pool.QueryRow(ctx, `SELECT sealed, expires_at, updated_at FROM oauth_tokens WHERE app = $1 AND provider = $2 AND account = $3 AND user_id = $4`,
		key.App, key.Provider, key.Account, key.User).Scan(&sealed, &expires, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return OAuthTokens{}, fmt.Errorf("OAuth tokens (%s/%s): %w", key.App, key.Provider, ErrNotFound)
	}
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("get OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	t, err := openOAuthTokens(p.box, key, sealed)
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("get OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	if expires != nil {
		t.Expiry = expires.UTC()
	}
	t.UpdatedAt = updated.UTC()
	return t, nil
}

// DeleteOAuthTokens implements OAuthStore.
func (p *Postgres) DeleteOAuthTokens(ctx context.Context, key OAuthTokenKey) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	tag, err := p.pool.Exec(ctx, `DELETE FROM oauth_tokens WHERE app = $1 AND provider = $2 AND account = $3 AND user_id = $4`,
		key.App, key.Provider, key.Account, key.User)
	if err != nil {
		return fmt.Errorf("delete OAuth tokens (%s/%s): %w", key.App, key.Provider, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("OAuth tokens (%s/%s): %w", key.App, key.Provider, ErrNotFound)
	}
	return nil
}

// pgLockCleanup bounds releasing a refresh lock, and ending a lock
// connection whose state is unknown.
const pgLockCleanup = 5 * time.Second

// WithOAuthRefreshLock implements OAuthStore with a session-level advisory
// lock (pg_advisory_lock) on oauthRefreshLockID(key), taken on a
// connection of p.locks that nothing else uses meanwhile. The lock is
// per database, so it excludes every replica sharing it.
//
// Released on every path: pg_advisory_unlock after fn (also when fn
// panics, and with a context of its own, so a cancelled ctx cannot skip
// it); and when the lock's state is unknown (the wait was cancelled, an
// unlock failed) the connection is closed instead: ending the session
// releases whatever it held, and pgx cancels a wait still in progress at
// the server before it closes.
func (p *Postgres) WithOAuthRefreshLock(ctx context.Context, key OAuthTokenKey, fn func(ctx context.Context) error) error {
	if err := validateOAuthKey(key); err != nil {
		return err
	}
	id := oauthRefreshLockID(key)
	conn, err := p.locks.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("OAuth refresh lock (%s/%s): %w", key.App, key.Provider, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
		closeLockConn(conn)
		return fmt.Errorf("OAuth refresh lock (%s/%s): %w", key.App, key.Provider, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgLockCleanup)
		defer cancel()
		var released bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, id).Scan(&released); err != nil || !released {
			p.log.Warn("OAuth refresh lock: unlock failed; closing its connection to release it", "app", key.App, "provider", key.Provider, "error", err)
			closeLockConn(conn)
			return
		}
		conn.Release()
	}()
	return fn(ctx)
}

// closeLockConn ends a lock connection's session rather than returning it
// to the pool, and waits (boundedly) until pgx has finished with it: after
// a cancelled query pgx sends the server a cancel request and Terminate.
func closeLockConn(c *pgxpool.Conn) {
	conn := c.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), pgLockCleanup)
	defer cancel()
	_ = conn.Close(ctx)
	select {
	case <-conn.PgConn().CleanupDone():
	case <-ctx.Done():
	}
}
