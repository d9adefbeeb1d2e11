package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

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

func (b *Broker) doRefresh(ctx context.Context, p *provider, key store.OAuthTokenKey, stale string, log *slog.Logger) (store.OAuthTokens, error) {
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
