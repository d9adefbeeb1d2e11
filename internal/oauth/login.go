package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/atlas-gateway/atlas/internal/store"
)

// login starts a login: it records the frontend's nonce and sends the
// browser to the provider's authorization endpoint.
func (b *Broker) login(w http.ResponseWriter, r *http.Request, p *provider, log *slog.Logger) {
	state := r.URL.Query().Get("state")
	if err := store.ValidateOAuthState(state); err != nil {
		writeBrowserError(w, r, invalidState())
		return
	}
	var verifier string
	if p.PKCE {
		verifier = newVerifier()
	}
	now := b.o.Now()
	n, err := b.o.Store.CreateOAuthNonce(r.Context(), store.OAuthNonce{
		State: state, App: p.app, Provider: p.Name, Verifier: verifier, ExpiresAt: now.Add(b.o.NonceTTL),
	}, now)
	switch {
	case errors.Is(err, store.ErrOAuthNonceUsed):
		writeBrowserError(w, r, errorf(http.StatusBadRequest, CodeNonceUsed, "this state (nonce) was already used for a login; start again with a new random state"))
		return
	case err != nil:
		log.Error("OAuth login: store the nonce", "error", err)
		writeBrowserError(w, r, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not start the login; retry shortly"))
		return
	}
	u := *p.authorize
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", p.ClientID)
	q.Set("redirect_uri", p.RedirectURL)
	q.Set("state", state)
	if len(p.Scopes) > 0 {
		q.Set("scope", strings.Join(p.Scopes, " "))
	}
	if n.Verifier != "" {
		q.Set("code_challenge", challengeS256(n.Verifier))
		q.Set("code_challenge_method", "S256")
	}
	u.RawQuery = q.Encode()
	noStore(w)
	log.Info("OAuth login started")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func invalidState() *Error {
	return errorf(http.StatusBadRequest, CodeInvalidState, "the state parameter must be the login's nonce: 16 to 128 URL-safe characters (letters, digits, '-', '.', '_', '~'), e.g. 32 random bytes in base64url")
}

// newVerifier is a PKCE code verifier: 32 random bytes, base64url (43
// characters, RFC 7636 section 4.1).
func newVerifier() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

func challengeS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Bounds of what a callback may carry.
const (
	maxCodeLen        = 4096
	maxProviderErrLen = 256
	maxProviderDesc   = 1024
)

// callback is the provider's redirect back: it saves the code (or the
// provider's error) against the nonce for the frontend's next poll.
func (b *Broker) callback(w http.ResponseWriter, r *http.Request, p *provider, log *slog.Logger) {
	q := r.URL.Query()
	state := q.Get("state")
	if err := store.ValidateOAuthState(state); err != nil {
		writeBrowserError(w, r, invalidState())
		return
	}
	cb := store.OAuthCallback{Code: q.Get("code")}
	if e := q.Get("error"); e != "" {
		cb = store.OAuthCallback{Error: printableText(e, maxProviderErrLen), ErrorDescription: printableText(q.Get("error_description"), maxProviderDesc)}
	} else if cb.Code == "" || len(cb.Code) > maxCodeLen {
		writeBrowserError(w, r, errorf(http.StatusBadRequest, CodeMissingCode, "the provider's redirect carries no usable code (nor an error); start the login again"))
		return
	}
	err := b.o.Store.SaveOAuthCallback(r.Context(), state, cb, b.o.Now())
	if e := nonceError(err); e != nil {
		if e.Status >= 500 {
			log.Error("OAuth callback: save the code", "error", err)
		}
		writeBrowserError(w, r, e)
		return
	}
	if cb.Error != "" {
		log.Info("OAuth callback: the provider reported an error", "provider_error", cb.Error)
		if wantsJSON(r) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "provider_error"})
			return
		}
		writePage(w, http.StatusOK, pageData{Title: "Login not completed", Message: "The provider did not complete the login (" + cb.Error + "). You can close this window and try again from the app."})
		return
	}
	log.Info("OAuth callback: code saved")
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
		return
	}
	writePage(w, http.StatusOK, pageData{Title: "Logged in", Message: "You are logged in. You can close this window and return to the app."})
}

// nonceError maps the store's nonce failures to answers; nil for nil.
func nonceError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrOAuthNonceUnknown):
		return errorf(http.StatusBadRequest, CodeNonceUnknown, "no login was started with this state for this provider (or it was cleaned up long ago); start the login again with a new nonce at the login endpoint")
	case errors.Is(err, store.ErrOAuthNonceExpired):
		return errorf(http.StatusBadRequest, CodeNonceExpired, "this login's state expired (a login must complete within 10 minutes); start again with a new nonce")
	case errors.Is(err, store.ErrOAuthNonceUsed):
		return errorf(http.StatusBadRequest, CodeNonceUsed, "this login's state was already used; start again with a new nonce")
	case errors.Is(err, store.ErrOAuthNonceOwner):
		return errorf(http.StatusForbidden, CodeNonceOwner, "this login belongs to another Stripe user (the first to poll it); start your own login with a new nonce")
	case errors.Is(err, store.ErrInvalid):
		return invalidState()
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not read the login's state; retry shortly")
}
