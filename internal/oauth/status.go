package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/atlas-gateway/atlas/internal/store"
)

// status is the frontend's signed poll. The first poll binds the login to
// the signer; once the provider's callback came, the poll claims the code
// (once) and exchanges it for tokens stored against the signer.
func (b *Broker) status(w http.ResponseWriter, r *http.Request, p *provider, log *slog.Logger) {
	state := r.URL.Query().Get("state")
	if err := store.ValidateOAuthState(state); err != nil {
		writeError(w, invalidState())
		return
	}
	c, _, ok := b.authenticate(w, r, p, log)
	if !ok {
		return
	}
	ctx := r.Context()
	n, err := b.o.Store.ClaimOAuthNonce(ctx, state, store.OAuthClaim{App: p.app, Provider: p.Name, Account: c.Account, User: c.User}, b.o.Now())
	if errors.Is(err, store.ErrOAuthNoncePending) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "pending"})
		return
	}
	if e := nonceError(err); e != nil {
		if e.Status >= 500 {
			log.Error("OAuth status: claim the nonce", "error", err)
		} else {
			log.Info("OAuth status: refused", "code", e.Code)
		}
		writeError(w, e)
		return
	}
	if n.Error != "" {
		msg := "the provider did not complete the login: " + n.Error
		if n.ErrorDescription != "" {
			msg += " (" + n.ErrorDescription + ")"
		}
		writeError(w, errorf(http.StatusBadRequest, CodeProviderDenied, "%s; start a new login to try again", msg))
		return
	}
	// The code is claimed: finish the exchange even if the poll goes away,
	// or the login would be lost.
	ctx = context.WithoutCancel(ctx)
	tokens, terr := b.exchange(ctx, p, n.Code, n.Verifier)
	if terr != nil {
		log.Warn("OAuth status: code exchange failed", "error", terr.Error())
		if terr.refused {
			writeError(w, errorf(http.StatusBadRequest, CodeExchangeFailed, "provider %s refused the authorization code (%s); start a new login", p.Name, terr.reason()))
			return
		}
		writeError(w, providerUnavailable(p, terr, "nothing was stored; start a new login once it is back"))
		return
	}
	if err := b.o.Store.PutOAuthTokens(ctx, p.tokenKey(c), tokens); err != nil {
		log.Error("OAuth status: store the tokens", "error", err)
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not store the tokens; start a new login"))
		return
	}
	log.Info("OAuth login completed")
	writeJSON(w, http.StatusOK, map[string]string{"status": "authenticated"})
}

func providerUnavailable(p *provider, terr *tokenError, then string) *Error {
	return errorf(http.StatusBadGateway, CodeProviderUnavailable, "the token endpoint of provider %s (%s) failed: %s; %s", p.Name, withoutQuery(p.TokenURL), terr.desc, then)
}

// logout deletes the signer's tokens at p. Deleting none is not an error.
func (b *Broker) logout(w http.ResponseWriter, r *http.Request, p *provider, log *slog.Logger) {
	c, _, ok := b.authenticate(w, r, p, log)
	if !ok {
		return
	}
	err := b.o.Store.DeleteOAuthTokens(r.Context(), p.tokenKey(c))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("OAuth logout: delete the tokens", "error", err)
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not delete the tokens; retry"))
		return
	}
	log.Info("OAuth logout")
	writeJSON(w, http.StatusOK, map[string]string{"status": "logged_out"})
}

// withoutQuery shows a URL for a message: a query might hold a credential.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}
