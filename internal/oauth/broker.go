package oauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/store"
)

// Caller is who signed a request, as the Authenticator verified it.
type Caller struct {
	App, Account, User string
}

// Authenticator verifies a signed request (its Stripe signature) and says
// who signed it. It may read r.Body, which the broker has buffered and
// restores afterwards. To refuse, return an *Error: its status, code and
// message are sent to the client as they are; any other error is a 500.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Caller, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Caller, error) { return f(r) }

// ExpectedApp returns, inside Authenticate, the StripeApp that declares the
// request's provider: the only app whose signature the broker accepts for
// it. An Authenticator may verify against that app's secrets alone.
func ExpectedApp(ctx context.Context) string {
	s, _ := ctx.Value(expectedAppKey{}).(string)
	return s
}

type expectedAppKey struct{}

// Store is the broker's persistence; internal/store's SQLite and Postgres
// implement it (store.OAuthStore has the contract).
type Store interface {
	CreateOAuthNonce(ctx context.Context, n store.OAuthNonce, now time.Time) (store.OAuthNonce, error)
	SaveOAuthCallback(ctx context.Context, state string, cb store.OAuthCallback, now time.Time) error
	ClaimOAuthNonce(ctx context.Context, state string, by store.OAuthClaim, now time.Time) (store.OAuthNonce, error)
	PutOAuthTokens(ctx context.Context, key store.OAuthTokenKey, t store.OAuthTokens) error
	GetOAuthTokens(ctx context.Context, key store.OAuthTokenKey) (store.OAuthTokens, error)
	DeleteOAuthTokens(ctx context.Context, key store.OAuthTokenKey) error
	WithOAuthRefreshLock(ctx context.Context, key store.OAuthTokenKey, fn func(ctx context.Context) error) error
}

// Defaults of Options.
const (
	DefaultNonceTTL     = 10 * time.Minute
	DefaultTokenTimeout = 15 * time.Second
	// RefreshSkew: an access token expiring within it is refreshed before
	// use, so it does not expire on its way to the API.
	RefreshSkew = 30 * time.Second
)

// Options are New's dependencies. Store and Auth are required.
type Options struct {
	Store Store
	Auth  Authenticator
	// Client calls token endpoints and the upstream APIs. Redirects are
	// never followed (a proxied API's redirect goes back to the client).
	// Default: one with connect, TLS and response-header timeouts.
	Client *http.Client
	// Now is the clock (nonce expiry, token expiry). Default time.Now.
	Now func() time.Time
	// Logger gets one line per failure and per refresh; never a secret.
	// Default: discard.
	Logger *slog.Logger
	// OnRefresh, when set, is called after each refresh attempt at a
	// provider's token endpoint (for metrics).
	OnRefresh func(provider string, ok bool)
	// NonceTTL is how long a login may take. Default DefaultNonceTTL.
	NonceTTL time.Duration
	// TokenTimeout bounds one token endpoint call. Default
	// DefaultTokenTimeout.
	TokenTimeout time.Duration
}

// Broker serves the OAuth endpoints. It is safe for concurrent use.
type Broker struct {
	o         Options
	client    *http.Client
	log       *slog.Logger
	providers atomic.Pointer[map[string]*provider]
	flights   singleflight.Group
}

// provider is one configured provider with its URLs parsed.
type provider struct {
	model.OAuthProvider
	app       string
	maxBody   int64
	authorize *url.URL
	apiBase   *url.URL
}

// New returns a Broker that serves no provider until Update.
func New(o Options) *Broker {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NonceTTL <= 0 {
		o.NonceTTL = DefaultNonceTTL
	}
	if o.TokenTimeout <= 0 {
		o.TokenTimeout = DefaultTokenTimeout
	}
	b := &Broker{o: o, log: o.Logger, client: noRedirects(o.Client)}
	empty := map[string]*provider{}
	b.providers.Store(&empty)
	return b
}

// noRedirects copies c (or a default client) so it never follows a
// redirect.
func noRedirects(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		out.Transport = t
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// Update switches to cfg's providers atomically: requests in flight finish
// with the providers they started with. A nil cfg serves none.
func (b *Broker) Update(cfg *model.Config) {
	next := map[string]*provider{}
	if cfg != nil {
		for _, app := range cfg.StripeApps {
			for _, p := range app.OAuthProviders {
				if _, dup := next[p.Name]; dup {
					b.log.Error("OAuth provider declared twice; keeping the first", "provider", p.Name, "app", app.Name)
					continue
				}
				authorize, err1 := url.Parse(p.AuthorizeURL)
				apiBase, err2 := url.Parse(p.APIBaseURL)
				if err := errors.Join(err1, err2); err != nil {
					b.log.Error("OAuth provider has an invalid URL; it is not served", "provider", p.Name, "app", app.Name, "error", err)
					continue
				}
				next[p.Name] = &provider{
					OAuthProvider: p,
					app:           app.Name,
					maxBody:       int64(app.MaxBodyBytes),
					authorize:     authorize,
					apiBase:       apiBase,
				}
			}
		}
	}
	b.providers.Store(&next)
}

// Handler serves /v1/oauth/… and /v1/apis/oauth/…; mount it on both
// prefixes.
func (b *Broker) Handler() http.Handler { return http.HandlerFunc(b.serve) }

const (
	oauthPrefix = "/v1/oauth/"
	apisPrefix  = "/v1/apis/oauth/"
)

func (b *Broker) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	log := b.log.With("request_id", r.Header.Get("X-Request-Id"), "method", r.Method, "path", r.URL.Path)
	if rest, ok := strings.CutPrefix(path, apisPrefix); ok {
		name, tail, _ := strings.Cut(rest, "/")
		p, ok := b.provider(w, name)
		if ok {
			b.proxy(w, r, p, tail, log.With("provider", p.Name, "app", p.app))
		}
		return
	}
	rest, ok := strings.CutPrefix(path, oauthPrefix)
	if !ok {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "Atlas's OAuth broker serves /v1/oauth/PROVIDER/{login,callback,status,tokens} and /v1/apis/oauth/PROVIDER/…"))
		return
	}
	name, action, _ := strings.Cut(rest, "/")
	p, ok := b.provider(w, name)
	if !ok {
		return
	}
	log = log.With("provider", p.Name, "app", p.app)
	type route struct {
		method string
		serve  func(http.ResponseWriter, *http.Request, *provider, *slog.Logger)
	}
	routes := map[string]route{
		"login":    {http.MethodGet, b.login},
		"callback": {http.MethodGet, b.callback},
		"status":   {http.MethodGet, b.status},
		"tokens":   {http.MethodDelete, b.logout},
	}
	rt, ok := routes[action]
	switch {
	case !ok:
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "unknown OAuth endpoint /v1/oauth/%s/%s; use login, callback, status or tokens", p.Name, printableText(action, 40)))
	case r.Method != rt.method:
		w.Header().Set("Allow", rt.method)
		writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "/v1/oauth/%s/%s takes %s, not %s", p.Name, action, rt.method, printableText(r.Method, 20)))
	default:
		rt.serve(w, r, p, log)
	}
}

func (b *Broker) provider(w http.ResponseWriter, name string) (*provider, bool) {
	p, ok := (*b.providers.Load())[name]
	if !ok {
		writeError(w, errorf(http.StatusNotFound, CodeProviderUnknown, "no OAuth provider named %s; declare it in a StripeApp's spec.oauthProviders", printableText(name, 64)))
	}
	return p, ok
}

// authenticate buffers the body (up to the app's maxBodyBytes), has the
// Authenticator verify the request, and checks that the signer may use p.
// On failure it has answered.
func (b *Broker) authenticate(w http.ResponseWriter, r *http.Request, p *provider, log *slog.Logger) (Caller, []byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "body_unreadable", "could not read the request body: %v", err))
		return Caller{}, nil, false
	}
	if int64(len(body)) > p.maxBody {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than the %d bytes StripeApp %q accepts (spec.maxBodyBytes); send a smaller body", p.maxBody, p.app))
		return Caller{}, nil, false
	}
	r = r.WithContext(context.WithValue(r.Context(), expectedAppKey{}, p.app))
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	c, err := b.o.Auth.Authenticate(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			writeError(w, e)
			return Caller{}, nil, false
		}
		log.Error("authenticator failed", "error", err)
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not verify this request; retry shortly"))
		return Caller{}, nil, false
	}
	switch {
	case c.App != p.app:
		writeError(w, errorf(http.StatusForbidden, CodeWrongApp, "OAuth provider %s belongs to StripeApp %q, but this request is signed for %q; call it from that app", p.Name, p.app, c.App))
		return Caller{}, nil, false
	case c.Account == "" || c.User == "":
		writeError(w, errorf(http.StatusForbidden, CodeUserRequired, "OAuth tokens belong to a Stripe user: sign the request from the app's frontend, with the user and account (stripe-user or the signed body)"))
		return Caller{}, nil, false
	}
	return c, body, true
}

func (p *provider) tokenKey(c Caller) store.OAuthTokenKey {
	return store.OAuthTokenKey{App: p.app, Provider: p.Name, Account: c.Account, User: c.User}
}

// loginPath is where a frontend starts a login, for messages.
func (p *provider) loginPath() string { return oauthPrefix + p.Name + "/login?state=NONCE" }
