package oauth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/oauthtest"
	"github.com/atlas-gateway/atlas/internal/store"
)

// The tests run the broker against a real OAuth 2.0 authorization server,
// internal/oauthtest: github.com/go-oauth2/oauth2/v4 (its server, manage
// and store packages, with its in-memory token store) on 127.0.0.1, with
// the authorization code grant (with PKCE when a challenge is sent,
// enforced by the library), the refresh token grant with rotation, and a
// small protected API that checks bearer tokens with the library's
// ValidationBearerToken.
//
// Signatures are NOT verified here: fakeAuth stands in for the apps
// server's Authenticator (tested there, and end to end with Envoy). The
// store is the real SQLite store, or two real PostgreSQL stores on one
// database for two replicas (replicas_test.go).

const (
	testApp      = "my-app"
	testProvider = "acme"
	clientID     = oauthtest.DefaultClientID
	clientSecret = oauthtest.DefaultClientSecret
	providerUser = oauthtest.DefaultUser
)

// fakeClock is the broker's clock; the provider keeps real time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeAuth is a stand-in Authenticator for these unit tests: a request is
// "signed" when it carries Stripe-Signature: fake-valid, and the signer is
// read from the stripe-user header ({"user_id","account_id"}). X-Fake-App
// signs for another app. It also checks that the broker handed it a
// readable body.
type fakeAuth struct{ bodies atomic.Int64 }

func (f *fakeAuth) Authenticate(r *http.Request) (Caller, error) {
	if r.Header.Get("Stripe-Signature") != "fake-valid" {
		return Caller{}, &Error{Status: http.StatusUnauthorized, Code: "signature_invalid", Message: "fake: no valid signature"}
	}
	var u struct {
		User    string `json:"user_id"`
		Account string `json:"account_id"`
	}
	if err := json.Unmarshal([]byte(r.Header.Get("Stripe-User")), &u); err != nil {
		return Caller{}, &Error{Status: http.StatusBadRequest, Code: "stripe_user_invalid", Message: "fake: bad stripe-user"}
	}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		f.bodies.Add(1)
	}
	app := ExpectedApp(r.Context())
	if a := r.Header.Get("X-Fake-App"); a != "" {
		app = a
	}
	if app == "" {
		return Caller{}, errors.New("fake: ExpectedApp is empty")
	}
	return Caller{App: app, Account: u.Account, User: u.User}, nil
}

// user is a signed frontend.
type user struct{ account, id string }

var (
	alice   = user{"acct_1", "usr_alice"}
	mallory = user{"acct_1", "usr_mallory"}
)

func (u user) sign(r *http.Request) {
	r.Header.Set("Stripe-Signature", "fake-valid")
	r.Header.Set("Stripe-User", `{"user_id":"`+u.id+`","account_id":"`+u.account+`"}`)
}

// env is one broker (behind an httptest server), its provider and store.
type env struct {
	t        *testing.T
	broker   *Broker
	ts       *httptest.Server
	provider *oauthtest.Server
	store    Store
	clock    *fakeClock
	auth     *fakeAuth
	prov     model.OAuthProvider
	browser  *http.Client

	refreshMu sync.Mutex
	refreshes []bool // OnRefresh calls
}

type envConfig struct {
	// provider configures the authorization server; its client is
	// registered with the broker's URL as its redirect domain.
	provider oauthtest.Options
	pkce     bool
	// edit changes the provider's config before the broker gets it.
	edit func(p *model.OAuthProvider)
	// store is the broker's store; default a new SQLite store.
	store Store
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	e := &env{t: t, clock: &fakeClock{t: time.Now().UTC().Truncate(time.Second)}, auth: &fakeAuth{}}
	e.store = cfg.store
	if e.store == nil {
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "atlas.db"), []byte(strings.Repeat("k", 32)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e.store = st
	}
	e.broker = New(Options{Store: e.store, Auth: e.auth, Now: e.clock.Now, OnRefresh: e.onRefresh})
	e.ts = httptest.NewServer(e.broker.Handler())
	t.Cleanup(e.ts.Close)

	cfg.provider.Clients = []oauthtest.Client{{ID: clientID, Secret: clientSecret, RedirectBase: e.ts.URL}}
	e.provider = oauthtest.New(t, cfg.provider)
	e.prov = model.OAuthProvider{
		Name:         testProvider,
		AuthorizeURL: e.provider.AuthorizeURL(),
		TokenURL:     e.provider.TokenURL(),
		ClientID:     clientID,
		ClientSecret: clientSecret,
		ClientAuth:   model.OAuthClientAuthBasic,
		Scopes:       []string{"read", "write"},
		APIBaseURL:   e.provider.APIBaseURL(),
		PKCE:         cfg.pkce,
		RedirectURL:  e.ts.URL + "/v1/oauth/" + testProvider + "/callback",
	}
	if cfg.provider.ClientAuth == oauthtest.AuthPost {
		e.prov.ClientAuth = model.OAuthClientAuthPost
	}
	if cfg.edit != nil {
		cfg.edit(&e.prov)
	}
	e.update()
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) onRefresh(provider string, ok bool) {
	if provider != testProvider {
		e.t.Errorf("OnRefresh(%q, %v): wrong provider", provider, ok)
	}
	e.refreshMu.Lock()
	e.refreshes = append(e.refreshes, ok)
	e.refreshMu.Unlock()
}

// replica is a second Atlas beside e: another Broker, on st, behind its
// own server, with e's clock, provider and config. Logins go through e
// (the provider redirects to e's callback).
func (e *env) replica(st Store) *env {
	r := &env{t: e.t, clock: e.clock, auth: e.auth, provider: e.provider, prov: e.prov, browser: e.browser, store: st}
	r.broker = New(Options{Store: st, Auth: r.auth, Now: r.clock.Now, OnRefresh: r.onRefresh})
	r.ts = httptest.NewServer(r.broker.Handler())
	e.t.Cleanup(r.ts.Close)
	r.update()
	return r
}

func (e *env) update() {
	e.broker.Update(&model.Config{StripeApps: []model.StripeApp{{
		Name: testApp, SigningSecrets: []string{"absec_x"}, Tolerance: time.Minute, MaxBodyBytes: 4096,
		OAuthProviders: []model.OAuthProvider{e.prov},
	}}})
}

func (e *env) refreshLog() []bool {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	return append([]bool(nil), e.refreshes...)
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return v
}

// errorCode is a Stripe-shaped error body's code ("" if none).
func (r response) errorCode() string {
	var v errorBody
	if json.Unmarshal([]byte(r.body), &v) != nil {
		return ""
	}
	return v.Error.Code
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func (e *env) get(rawURL string, u *user) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if u != nil {
		u.sign(req)
	}
	return e.do(req)
}

func (e *env) url(path string) string { return e.ts.URL + path }

func (e *env) oauthPath(action, state string) string {
	p := "/v1/oauth/" + testProvider + "/" + action
	if state != "" {
		p += "?state=" + url.QueryEscape(state)
	}
	return e.url(p)
}

// login runs the browser side of a login up to (not including) the
// callback: Atlas's 302 to the provider, the provider's 302 back. It
// returns the callback URL the provider sent the browser to.
func (e *env) login(state string) string {
	e.t.Helper()
	r := e.get(e.oauthPath("login", state), nil)
	if r.status != http.StatusFound {
		e.t.Fatalf("login: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, e.provider.AuthorizeURL()+"?") {
		e.t.Fatalf("login redirects to %s, want the provider's authorize endpoint", loc)
	}
	r = e.get(loc, nil)
	if r.status != http.StatusFound {
		e.t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	cb := r.header.Get("Location")
	if !strings.HasPrefix(cb, e.prov.RedirectURL+"?") {
		e.t.Fatalf("the provider redirects to %s, want the callback %s", cb, e.prov.RedirectURL)
	}
	return cb
}

// callback follows the provider's redirect back to Atlas.
func (e *env) callback(cbURL string) response {
	e.t.Helper()
	return e.get(cbURL, nil)
}

func (e *env) poll(state string, u user) response {
	e.t.Helper()
	return e.get(e.oauthPath("status", state), &u)
}

// fullLogin logs u in; it returns after the poll that stored the tokens.
func (e *env) fullLogin(state string, u user) {
	e.t.Helper()
	if r := e.poll(state, u); r.errorCode() != CodeNonceUnknown {
		e.t.Fatalf("poll before login = %d %s, want nonce_unknown", r.status, r.body)
	}
	cb := e.login(state)
	if r := e.poll(state, u); r.status != http.StatusOK || r.json(e.t)["status"] != "pending" {
		e.t.Fatalf("poll before the callback = %d %s, want pending", r.status, r.body)
	}
	if r := e.callback(cb); r.status != http.StatusOK || !strings.Contains(r.body, "You are logged in") {
		e.t.Fatalf("callback = %d %s", r.status, r.body)
	}
	if r := e.poll(state, u); r.status != http.StatusOK || r.json(e.t)["status"] != "authenticated" {
		e.t.Fatalf("poll after the callback = %d %s, want authenticated", r.status, r.body)
	}
}

// api calls the proxied API as u.
func (e *env) api(method, path, body string, u user, extra http.Header) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url("/v1/apis/oauth/"+testProvider+path), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	u.sign(req)
	return e.do(req)
}
