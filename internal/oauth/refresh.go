package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atlas-gateway/atlas/internal/store"
)

// refresh returns fresh tokens for key, whose access token stale has
// expired or was refused. Concurrent callers for one key share one call
// to the provider; a caller that arrives after another caller's refresh
// gets those tokens without a second call, since rotating refresh tokens
// would make the second call fail (and log the user out).
func (b *Broker) refresh(ctx context.Context, p *provider, key store.OAuthTokenKey, stale string, log *slog.Logger) (store.OAuthTokens, *Error) {
	flight := strings.Join([]string{key.App, key.Provider, key.Account, key.User}, "\x00")
	// The shared refresh outlives any one caller's request: if the first
	// caller goes away, the others still get their tokens.
	ch := b.flights.DoChan(flight, func() (any, error) {
		return b.doRefresh(context.WithoutCancel(ctx), p, key, stale, log)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			var e *Error
			if errors.As(res.Err, &e) {
				return store.OAuthTokens{}, e
			}
			return store.OAuthTokens{}, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not refresh the token; retry shortly")
		}
		return res.Val.(store.OAuthTokens), nil
	case <-ctx.Done():
		return store.OAuthTokens{}, errorf(http.StatusServiceUnavailable, CodeInternal, "the request ended while its token was being refreshed")
	}
}

// refreshLockMargin is how much longer than one token endpoint call
// (Options.TokenTimeout) a refresh waits for another process's refresh of
// the same tokens: that call, plus its reads and writes in the store.
const refreshLockMargin = 10 * time.Second

// doRefresh refreshes key's tokens under the store's lock on key, which
// every replica sharing the store takes: a replica that comes second
// waits, then finds the tokens refreshed meanwhile instead of spending the
// rotated refresh token again (invalid_grant, and a logout). singleflight
// (refresh) keeps this process's callers from even waiting on the lock.
func (b *Broker) doRefresh(ctx context.Context, p *provider, key store.OAuthTokenKey, stale string, log *slog.Logger) (store.OAuthTokens, error) {
	wait, cancel := context.WithTimeout(ctx, b.o.TokenTimeout+refreshLockMargin)
	defer cancel()
	var out store.OAuthTokens
	var err error
	locked := false
	lerr := b.o.Store.WithOAuthRefreshLock(wait, key, func(context.Context) error {
		locked = true
		// ctx, not wait: only the wait for the lock is bounded. Once the
		// provider may have rotated the refresh token, storing the new one
		// must not be cut short.
		out, err = b.refreshLocked(ctx, p, key, stale, log)
		return err
	})
	if !locked {
		log.Error("OAuth refresh: take the refresh lock", "error", lerr)
		return store.OAuthTokens{}, lerr
	}
	return out, err
}

// refreshLocked reads the current tokens, and refreshes them unless they
// were refreshed meanwhile. The caller holds the refresh lock on key.
func (b *Broker) refreshLocked(ctx context.Context, p *provider, key store.OAuthTokenKey, stale string, log *slog.Logger) (store.OAuthTokens, error) {
	cur, err := b.o.Store.GetOAuthTokens(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.OAuthTokens{}, loginRequired(p, "this user's tokens were deleted (logged out)")
	}
	if err != nil {
		log.Error("OAuth refresh: read the tokens", "error", err)
		return store.OAuthTokens{}, err
	}
	if cur.AccessToken != stale && !b.expiresSoon(cur) {
		return cur, nil // refreshed meanwhile (by another request or replica)
	}
	if cur.RefreshToken == "" {
		return store.OAuthTokens{}, loginRequired(p, "the access token expired and "+p.Name+" gave no refresh token")
	}
	fresh, terr := b.tokenRequest(ctx, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}})
	if terr != nil {
		b.onRefresh(p.Name, false)
		log.Warn("OAuth refresh failed", "error", terr.Error())
		if !terr.refused {
			return store.OAuthTokens{}, providerUnavailable(p, terr, "the request was not sent; retry shortly")
		}
		deleted := ""
		if terr.code == "invalid_grant" {
			// Another replica may have rotated the refresh token just now.
			if again, err := b.o.Store.GetOAuthTokens(ctx, key); err == nil && again.RefreshToken != cur.RefreshToken {
				return again, nil
			}
			if err := b.o.Store.DeleteOAuthTokens(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
				log.Error("OAuth refresh: delete the refused tokens", "error", err)
			}
			deleted = "; the stored tokens were deleted"
		}
		return store.OAuthTokens{}, errorf(http.StatusUnauthorized, CodeRefreshFailed, "provider %s refused to refresh the access token (%s)%s; log in again: open %s", p.Name, terr.reason(), deleted, p.loginPath())
	}
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = cur.RefreshToken // not rotated: keep using it
	}
	if fresh.Scope == "" {
		fresh.Scope = cur.Scope
	}
	if err := b.o.Store.PutOAuthTokens(ctx, key, fresh); err != nil {
		b.onRefresh(p.Name, false)
		log.Error("OAuth refresh: store the tokens", "error", err)
		return store.OAuthTokens{}, err
	}
	b.onRefresh(p.Name, true)
	log.Info("OAuth token refreshed")
	return fresh, nil
}

func (b *Broker) onRefresh(provider string, ok bool) {
	if b.o.OnRefresh != nil {
		b.o.OnRefresh(provider, ok)
	}
}
