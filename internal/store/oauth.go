package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// OAuth broker state (internal/oauth): the pending logins ("nonces") and
// each Stripe user's tokens at each provider. Both stores implement
// OAuthStore with the same contract (oauth_test.go runs it on both).
//
// Unlike adapters and secrets this is not configuration: OAuth writes do
// not fire Changes (and send no NOTIFY), so a login or a token refresh
// never reloads the gateway.
//
// Codes, PKCE verifiers and tokens are sealed with the master key like
// secret values. A token row's additional authenticated data is its whole
// key (app, provider, account, user), so a sealed row copied to another
// user fails to open instead of handing that user someone else's tokens.

// Nonce failures, wrapped by ClaimOAuthNonce and SaveOAuthCallback.
var (
	// ErrOAuthNonceUnknown: no login was started with this state (or it
	// was for another app or provider, or it was purged long after expiry).
	ErrOAuthNonceUnknown = errors.New("unknown OAuth state")
	// ErrOAuthNonceExpired: the login window (about 10 minutes) has passed.
	ErrOAuthNonceExpired = errors.New("expired OAuth state")
	// ErrOAuthNonceUsed: the state's code was already claimed, or its
	// callback already came.
	ErrOAuthNonceUsed = errors.New("OAuth state already used")
	// ErrOAuthNoncePending: no callback yet; poll again.
	ErrOAuthNoncePending = errors.New("OAuth login pending")
	// ErrOAuthNonceOwner: another Stripe user already polled this state
	// first; the login is bound to them.
	ErrOAuthNonceOwner = errors.New("OAuth state belongs to another user")
)

// OAuthNonceRetention is how long past its expiry a nonce row is kept, so
// a late replay is told "expired" or "used" rather than "unknown"; older
// rows are purged whenever a login starts.
const OAuthNonceRetention = time.Hour

// Limits of the OAuth rows.
const (
	maxOAuthKeyPart  = 255
	maxOAuthTokenSet = MaxSecretSize
)

// oauthStateRE is the state (nonce) a frontend picks: 16 to 128 URL-safe
// characters (RFC 3986 unreserved).
var oauthStateRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{16,128}$`)

// ValidateOAuthState reports whether state can name a login.
func ValidateOAuthState(state string) error {
	if !oauthStateRE.MatchString(state) {
		return fmt.Errorf("%w OAuth state: use 16 to 128 URL-safe characters (letters, digits, '-', '.', '_', '~'), e.g. 32 random bytes in base64url", ErrInvalid)
	}
	return nil
}

// OAuthNonce is one login in progress.
type OAuthNonce struct {
	State    string
	App      string
	Provider string
	// Verifier is the PKCE code verifier, "" without PKCE. Sealed at rest.
	Verifier  string
	ExpiresAt time.Time
	// Set by the provider's callback: a code (sealed at rest), or the
	// error it reported instead.
	Code             string
	Error            string
	ErrorDescription string
}

// OAuthCallback is what the provider's redirect back to Atlas carried.
type OAuthCallback struct {
	Code             string
	Error            string
	ErrorDescription string
}

// OAuthClaim is who polls for a login's result: the identity verified from
// the poll's Stripe signature, and where it polled.
type OAuthClaim struct {
	App, Provider, Account, User string
}

// OAuthTokenKey names one user's tokens at one provider.
type OAuthTokenKey struct {
	App, Provider, Account, User string
}

// OAuthTokens are what a provider's token endpoint returned.
type OAuthTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// Expiry is when the access token expires; zero when the provider
	// did not say. Stored in clear beside the sealed tokens.
	Expiry time.Time `json:"-"`
	// UpdatedAt is stamped by the store.
	UpdatedAt time.Time `json:"-"`
}

// OAuthStore is what the OAuth broker persists. SQLite and Postgres
// implement it; internal/oauth declares the subset it consumes.
//
// Nonce times are the caller's now, so the broker's clock decides expiry
// (tests drive it); the store stamps UpdatedAt itself.
type OAuthStore interface {
	// CreateOAuthNonce starts a login. When the state already exists,
	// unexpired, for the same app and provider and still waiting for its
	// callback, that login is returned unchanged (a reloaded login window
	// keeps its PKCE verifier); any other existing state is
	// ErrOAuthNonceUsed. Expired states are replaced.
	CreateOAuthNonce(ctx context.Context, n OAuthNonce, now time.Time) (OAuthNonce, error)
	// SaveOAuthCallback records the provider's redirect against state,
	// once: ErrOAuthNonceUnknown, ErrOAuthNonceExpired, ErrOAuthNonceUsed.
	SaveOAuthCallback(ctx context.Context, state string, cb OAuthCallback, now time.Time) error
	// ClaimOAuthNonce is a signed poll. The first poll binds the login to
	// its (account, user); a poll by anyone else is ErrOAuthNonceOwner.
	// Without a callback yet it is ErrOAuthNoncePending; with one, the
	// nonce is consumed (a second claim is ErrOAuthNonceUsed) and returned
	// with its code or the provider's error.
	ClaimOAuthNonce(ctx context.Context, state string, by OAuthClaim, now time.Time) (OAuthNonce, error)

	// PutOAuthTokens creates or replaces a user's tokens.
	PutOAuthTokens(ctx context.Context, key OAuthTokenKey, t OAuthTokens) error
	// GetOAuthTokens returns them, or an error wrapping ErrNotFound.
	GetOAuthTokens(ctx context.Context, key OAuthTokenKey) (OAuthTokens, error)
	// DeleteOAuthTokens removes them, or returns an error wrapping
	// ErrNotFound.
	DeleteOAuthTokens(ctx context.Context, key OAuthTokenKey) error

	// WithOAuthRefreshLock runs fn while holding an exclusive lock on
	// key, shared by every process using this store: the broker refreshes
	// a user's tokens under it, so two replicas never spend one rotating
	// refresh token twice. ctx bounds the wait for the lock (an error
	// then, and no lock is left held); fn gets ctx as it is. The lock is
	// released when fn returns or panics, and fn's error is returned
	// unchanged. Not reentrant: fn must not take the same key again.
	WithOAuthRefreshLock(ctx context.Context, key OAuthTokenKey, fn func(ctx context.Context) error) error
}

var (
	_ OAuthStore = (*SQLite)(nil)
	_ OAuthStore = (*Postgres)(nil)
)

func validateOAuthNonce(n OAuthNonce) error {
	if err := ValidateOAuthState(n.State); err != nil {
		return err
	}
	if err := validateOAuthParts("OAuth nonce", n.App, n.Provider); err != nil {
		return err
	}
	if n.ExpiresAt.IsZero() {
		return fmt.Errorf("%w OAuth nonce: it has no expiry", ErrInvalid)
	}
	if len(n.Verifier) > 128 {
		return fmt.Errorf("%w OAuth nonce: the PKCE verifier is longer than 128 characters", ErrInvalid)
	}
	return nil
}

func validateOAuthCallback(cb OAuthCallback) error {
	switch {
	case (cb.Code == "") == (cb.Error == ""):
		return fmt.Errorf("%w OAuth callback: it needs either a code or an error", ErrInvalid)
	case len(cb.Code) > 4096 || len(cb.Error) > 256 || len(cb.ErrorDescription) > 1024:
		return fmt.Errorf("%w OAuth callback: its code or error is too long", ErrInvalid)
	}
	return nil
}

func validateOAuthKey(k OAuthTokenKey) error {
	return validateOAuthParts("OAuth token key", k.App, k.Provider, k.Account, k.User)
}

// validateOAuthParts checks the names that key OAuth rows: non-empty,
// bounded, printable (a NUL would blur the sealing name's separators).
func validateOAuthParts(what string, parts ...string) error {
	for _, p := range parts {
		if p == "" || len(p) > maxOAuthKeyPart || strings.IndexFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
			return fmt.Errorf("%w %s: app, provider, account and user must be non-empty, printable and at most %d bytes", ErrInvalid, what, maxOAuthKeyPart)
		}
	}
	return nil
}

// Sealing names: the additional authenticated data binding a sealed value
// to its row. The prefixes cannot collide with secret names ([A-Za-z_]…).
func oauthTokensName(k OAuthTokenKey) string {
	return strings.Join([]string{"oauth-tokens", k.App, k.Provider, k.Account, k.User}, "\x00")
}

// oauthRefreshLockID is the PostgreSQL advisory lock key of key's
// refreshes: 64 bits of a SHA-256 of its name. A collision between two
// keys only makes their refreshes wait for each other.
func oauthRefreshLockID(k OAuthTokenKey) int64 {
	sum := sha256.Sum256([]byte("oauth-refresh-lock\x00" + oauthTokensName(k)))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

func oauthVerifierName(state string) string { return "oauth-verifier\x00" + state }
func oauthCodeName(state string) string     { return "oauth-code\x00" + state }

// sealer is the part of secretbox.Box the OAuth code needs.
type sealer interface {
	Seal(name string, value []byte) ([]byte, error)
	Open(name string, sealed []byte) ([]byte, error)
}

func sealOAuthTokens(box sealer, k OAuthTokenKey, t OAuthTokens) ([]byte, error) {
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w OAuth tokens: the access token is empty", ErrInvalid)
	}
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	if len(plain) > maxOAuthTokenSet {
		return nil, fmt.Errorf("%w OAuth tokens: %d bytes, over the %d-byte limit", ErrInvalid, len(plain), maxOAuthTokenSet)
	}
	return box.Seal(oauthTokensName(k), plain)
}

func openOAuthTokens(box sealer, k OAuthTokenKey, sealed []byte) (OAuthTokens, error) {
	plain, err := box.Open(oauthTokensName(k), sealed)
	if err != nil {
		return OAuthTokens{}, err
	}
	var t OAuthTokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return OAuthTokens{}, fmt.Errorf("stored OAuth tokens: %w", err)
	}
	return t, nil
}

// sealOptional seals a non-empty value; "" is stored as NULL.
func sealOptional(box sealer, name, value string) ([]byte, error) {
	if value == "" {
		return nil, nil
	}
	return box.Seal(name, []byte(value))
}

func openOptional(box sealer, name string, sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	v, err := box.Open(name, sealed)
	return string(v), err
}

// nonceRow is an oauth_nonces row as both stores read it, still sealed.
type nonceRow struct {
	state, app, provider string
	verifier, code       []byte
	errCode, errDesc     string
	account, user        string
	used                 bool
	expiresAt            time.Time
}

func (r *nonceRow) calledBack() bool { return r.code != nil || r.errCode != "" }

// open returns the row as an OAuthNonce with its secrets opened.
func (r *nonceRow) open(box sealer) (OAuthNonce, error) {
	verifier, err1 := openOptional(box, oauthVerifierName(r.state), r.verifier)
	code, err2 := openOptional(box, oauthCodeName(r.state), r.code)
	if err := errors.Join(err1, err2); err != nil {
		return OAuthNonce{}, err
	}
	return OAuthNonce{
		State: r.state, App: r.app, Provider: r.provider, Verifier: verifier, ExpiresAt: r.expiresAt,
		Code: code, Error: r.errCode, ErrorDescription: r.errDesc,
	}, nil
}

// reusable reports whether CreateOAuthNonce may hand back this existing
// row for n: the same login, still waiting for its callback.
func (r *nonceRow) reusable(n OAuthNonce, now time.Time) bool {
	return r.app == n.App && r.provider == n.Provider && !r.used && !r.calledBack() && now.Before(r.expiresAt)
}

// callbackErr says why a callback cannot be saved against r, or nil.
func (r *nonceRow) callbackErr(now time.Time) error {
	switch {
	case r.used || r.calledBack():
		return ErrOAuthNonceUsed
	case !now.Before(r.expiresAt):
		return ErrOAuthNonceExpired
	}
	return nil
}

// claimErr says why by cannot claim r (nil: it may), and whether the
// claim binds the login to by.
func (r *nonceRow) claimErr(by OAuthClaim, now time.Time) (bind bool, err error) {
	switch {
	case r.app != by.App || r.provider != by.Provider:
		return false, ErrOAuthNonceUnknown
	case r.account != "" && (r.account != by.Account || r.user != by.User):
		return false, ErrOAuthNonceOwner
	case r.used:
		return false, ErrOAuthNonceUsed
	case !now.Before(r.expiresAt):
		return false, ErrOAuthNonceExpired
	}
	return r.account == "", nil
}

func nonceErr(op, state string, err error) error {
	return fmt.Errorf("%s %s…: %w", op, state[:min(len(state), 8)], err)
}

// sealOAuthCallback checks a callback for state and seals its code, as both
// stores do before they write it.
func sealOAuthCallback(box sealer, state string, cb OAuthCallback) ([]byte, error) {
	if err := ValidateOAuthState(state); err != nil {
		return nil, err
	}
	if err := validateOAuthCallback(cb); err != nil {
		return nil, err
	}
	code, err := sealOptional(box, oauthCodeName(state), cb.Code)
	if err != nil {
		return nil, nonceErr("save OAuth callback", state, err)
	}
	return code, nil
}

func validateOAuthClaim(state string, by OAuthClaim) error {
	if err := ValidateOAuthState(state); err != nil {
		return err
	}
	return validateOAuthParts("OAuth claim", by.App, by.Provider, by.Account, by.User)
}

// claimOAuthNonce decides a claim on a nonce row locked by the caller's
// transaction: bind records the claimer (on the first claim), markUsed spends
// the nonce once the callback came. pending reports a nonce whose callback
// has not come yet (the binding is still committed).
func claimOAuthNonce(row *nonceRow, by OAuthClaim, now time.Time, box sealer, bind, markUsed func() error) (out OAuthNonce, pending bool, err error) {
	first, err := row.claimErr(by, now)
	if err != nil {
		return OAuthNonce{}, false, err
	}
	if first {
		if err := bind(); err != nil {
			return OAuthNonce{}, false, err
		}
	}
	if !row.calledBack() {
		return OAuthNonce{}, true, nil
	}
	if out, err = row.open(box); err != nil {
		return OAuthNonce{}, false, err
	}
	return out, false, markUsed()
}

// claimResult is what ClaimOAuthNonce returns after its transaction.
func claimResult(out OAuthNonce, pending bool, state string, err error) (OAuthNonce, error) {
	if err == nil && pending {
		err = ErrOAuthNoncePending
	}
	if err != nil {
		return OAuthNonce{}, wrapNonceErr("claim OAuth nonce", state, err)
	}
	return out, nil
}
