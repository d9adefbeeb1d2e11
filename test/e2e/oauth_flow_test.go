package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/oauth"
	"github.com/atlas-gateway/atlas/internal/oauthtest"
)

// Issue #5's full flow through the real Envoy: login, callback, signed
// poll, a proxied call carrying the user's token, expiry and refresh (by
// expires_in, and by the API's 401 when the provider hides it), a refresh
// the provider refuses, logout, and the proxied call refused.
func TestOAuthFlowThroughEnvoy(t *testing.T) {
	up := startRecorder(t)
	// acme's access tokens expire 6 s after the broker's refresh skew
	// begins: calls in the first 6 s use the token, later ones refresh it
	// first.
	const window = 6 * time.Second
	acme := oauthtest.New(t, oauthtest.Options{AccessTokenTTL: oauth.RefreshSkew + window})
	// quiet hides expires_in and expires its tokens after 2 s: Atlas learns
	// of it from the API's 401.
	quiet := oauthtest.New(t, oauthtest.Options{AccessTokenTTL: 2 * time.Second, HideExpiry: true})
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAtlas(t, oauthConfig(up.port(), oauthProviderYAML("acme", acme, false), oauthProviderYAML("quiet", quiet, false)),
		oauthEnv, "--metrics-address", metricsAddr)
	for _, p := range []*oauthtest.Server{acme, quiet} {
		if err := p.SetRedirectBase(oauthtest.DefaultClientID, a.url("")); err != nil {
			t.Fatal(err)
		}
	}
	a.waitStatus("/v1/apis/http/plain/ready", 200)
	a.waitStatus("/v1/oauth/acme/status?state=wait-for-the-apps-route", 401)

	f := newFlow(t, a.url(""), "acme", acme)
	var tokensAt time.Time // when the poll that stored alice's tokens returned
	if !t.Run("login, callback and signed poll", func(t *testing.T) {
		f.t = t
		cb := f.start()
		q := acme.LastAuthorize()
		for k, want := range map[string]string{"response_type": "code", "client_id": oauthtest.DefaultClientID,
			"redirect_uri": a.url("/v1/oauth/acme/callback"), "scope": "read write", "state": f.state} {
			if got := q.Get(k); got != want {
				t.Errorf("the provider saw %s=%q, want %q", k, got, want)
			}
		}
		if q.Has("code_challenge") {
			t.Error("a code_challenge was sent with pkce: false")
		}
		if r := f.poll(alice); r.status != 200 || r.field("status") != "pending" {
			t.Fatalf("poll before the callback = %s, want pending", r)
		}
		if r := f.callback(cb); r.status != 200 || !strings.Contains(r.body, "You are logged in") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("callback through Envoy = %s", r)
		}
		if r := f.poll(alice); r.status != 200 || r.field("status") != "authenticated" {
			t.Fatalf("poll after the callback = %s, want authenticated", r)
		}
		tokensAt = time.Now()
		if n := acme.CodeCalls.Load(); n != 1 {
			t.Errorf("%d code exchanges at the provider, want 1", n)
		}
	}) {
		return
	}

	if !t.Run("proxied call carries the user's token", func(t *testing.T) {
		f.t = t
		r := f.api("POST", "/repos/a%20b/issues?per_page=5", `{"title":"hi"}`, alice, "Content-Type", "application/json")
		if r.status != 200 || r.field("user") != oauthtest.DefaultUser {
			t.Fatalf("proxied call = %s", r)
		}
		seen := acme.LastAPI()
		if seen.Method != "POST" || seen.RawPath != "/api/repos/a%20b/issues" || seen.Query != "per_page=5" || seen.Body != `{"title":"hi"}` {
			t.Errorf("the API saw %+v", seen)
		}
		issued := acme.Issued()
		if len(issued) != 1 || seen.Header.Get("Authorization") != "Bearer "+issued[0].AccessToken {
			t.Errorf("the API saw Authorization %q, want alice's access token", seen.Header.Get("Authorization"))
		}
		for _, h := range []string{"Stripe-Signature", "Stripe-User"} {
			if v := seen.Header.Get(h); v != "" {
				t.Errorf("the API received %s: %q", h, v)
			}
		}
		if time.Since(tokensAt) < window-time.Second {
			if n := acme.RefreshCalls.Load(); n != 0 {
				t.Errorf("%d refreshes of a fresh token", n)
			}
		} else {
			t.Logf("the call came %v after the login; not checking that it did not refresh", time.Since(tokensAt))
		}
	}) {
		return
	}

	if !t.Run("expiry and refresh", func(t *testing.T) {
		f.t = t
		before := acme.RefreshCalls.Load()
		time.Sleep(time.Until(tokensAt.Add(window + 300*time.Millisecond)))
		if r := f.api("GET", "/user", "", alice); r.status != 200 {
			t.Fatalf("call after expiry = %s", r)
		}
		if n := acme.RefreshCalls.Load() - before; n != 1 {
			t.Errorf("%d refreshes, want 1", n)
		}
		issued := acme.Issued()
		if got := acme.LastAPI().Header.Get("Authorization"); got != "Bearer "+issued[len(issued)-1].AccessToken || got == "Bearer "+issued[0].AccessToken {
			t.Errorf("the call after the refresh carried %q, want the refreshed token", got)
		}
		raw, _ := scrapeMetrics(t, metricsAddr)
		if want := `atlas_oauth_refreshes_total{provider="acme",result="success"} 1`; !strings.Contains(raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	}) {
		return
	}

	t.Run("the provider expires the token; the API's 401 refreshes", func(t *testing.T) {
		q := newFlow(t, a.url(""), "quiet", quiet)
		q.login(alice)
		if r := q.api("GET", "/user", "", alice); r.status != 200 {
			t.Fatalf("first call = %s", r)
		}
		time.Sleep(2200 * time.Millisecond)
		r := q.api("PUT", "/items/1", "payload", alice)
		if r.status != 200 || r.field("body") != "payload" {
			t.Fatalf("call after the provider's expiry = %s", r)
		}
		if n := quiet.RefreshCalls.Load(); n != 1 {
			t.Errorf("%d refreshes, want 1", n)
		}
		if n := quiet.APICalls.Load(); n != 3 {
			t.Errorf("the API saw %d calls, want 3 (the first, the 401, the retry with its body)", n)
		}
	})

	t.Run("a refresh the provider refuses is a 401 with the reason", func(t *testing.T) {
		q := newFlow(t, a.url(""), "quiet", quiet)
		// The user revokes the app at the provider.
		if err := quiet.RevokeAll(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := q.api("GET", "/user", "", alice)
		if r.status != 401 || r.code() != oauth.CodeRefreshFailed || !strings.Contains(r.body, "invalid_grant") || !strings.Contains(r.body, "/v1/oauth/quiet/login") {
			t.Fatalf("call = %s, want 401 oauth_refresh_failed saying invalid_grant and how to log in", r)
		}
		if r := q.api("GET", "/user", "", alice); r.status != 401 || r.code() != oauth.CodeLoginRequired {
			t.Errorf("next call = %s, want 401 oauth_login_required (the tokens were deleted)", r)
		}
		raw, _ := scrapeMetrics(t, metricsAddr)
		if want := `atlas_oauth_refreshes_total{provider="quiet",result="failed"} 1`; !strings.Contains(raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	})

	t.Run("callers without alice's signature", func(t *testing.T) {
		f.t = t
		if r := f.api("GET", "/user", "", mallory); r.status != 401 || r.code() != oauth.CodeLoginRequired {
			t.Errorf("mallory (no tokens) = %s, want 401 oauth_login_required", r)
		}
		user := `{"user_id":"usr_alice","account_id":"acct_oauth"}`
		for name, hdr := range map[string][]string{
			"unsigned":     {"Stripe-User", user},
			"wrong secret": {"Stripe-User", user, "Stripe-Signature", signNow(user, "absec_e2eNotTheSecret000000000000")},
			"app key":      {"Authorization", "Bearer " + appKey, "Stripe-Account", "acct_oauth"},
		} {
			r := browse(t, "GET", a.url("/v1/apis/oauth/acme/user"), nil, hdr...)
			want := map[string]int{"unsigned": 401, "wrong secret": 401, "app key": 403}[name]
			if r.status != want || r.code() == "" {
				t.Errorf("%s: %s, want %d with a Stripe-shaped error", name, r, want)
			}
		}
	})

	t.Run("logout, then the proxied call is refused", func(t *testing.T) {
		f.t = t
		if r := f.logout(alice); r.status != 200 || r.field("status") != "logged_out" {
			t.Fatalf("logout = %s", r)
		}
		calls := acme.APICalls.Load()
		r := f.api("GET", "/user", "", alice)
		if r.status != 401 || r.code() != oauth.CodeLoginRequired || !strings.Contains(r.body, "/v1/oauth/acme/login?state=NONCE") {
			t.Fatalf("call after logout = %s, want 401 oauth_login_required naming the login path", r)
		}
		if acme.APICalls.Load() != calls {
			t.Error("the API was called after logout")
		}
	})

	logs := a.logs.String()
	secrets := []string{oauthtest.DefaultClientSecret}
	for _, p := range []*oauthtest.Server{acme, quiet} {
		for _, tok := range p.Issued() {
			secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("atlas's log holds a token or the client secret")
			break
		}
	}
}

// Nonce and provider attacks and failures through Envoy: a replayed nonce,
// a poll signed by another user, a callback with an unknown state, the
// token endpoint down. The expired nonce (10 minutes, on atlas's own clock)
// is covered by internal/oauth's TestExpiredNonce with a fake clock; atlas
// has no flag to shorten it.
func TestOAuthAttacksThroughEnvoy(t *testing.T) {
	up := startRecorder(t)
	acme := oauthtest.New(t, oauthtest.Options{})
	down := oauthtest.New(t, oauthtest.Options{})
	a := startAtlas(t, oauthConfig(up.port(), oauthProviderYAML("acme", acme, false), oauthProviderYAML("down", down, false)), oauthEnv)
	for _, p := range []*oauthtest.Server{acme, down} {
		if err := p.SetRedirectBase(oauthtest.DefaultClientID, a.url("")); err != nil {
			t.Fatal(err)
		}
	}
	a.waitStatus("/v1/apis/http/plain/ready", 200)
	a.waitStatus("/v1/oauth/acme/status?state=wait-for-the-apps-route", 401)

	t.Run("replayed nonce", func(t *testing.T) {
		f := newFlow(t, a.url(""), "acme", acme)
		f.login(alice)
		if r := f.poll(alice); r.status != 400 || r.code() != oauth.CodeNonceUsed {
			t.Errorf("replayed poll = %s, want 400 nonce_used", r)
		}
		if r := browse(t, "GET", f.url("/v1/oauth/acme/login?state="+f.state), nil, "Accept", "application/json"); r.status != 400 || r.code() != oauth.CodeNonceUsed {
			t.Errorf("login with a used nonce = %s, want 400 nonce_used", r)
		}
		if n := acme.CodeCalls.Load(); n != 1 {
			t.Errorf("%d code exchanges, want 1", n)
		}
	})

	t.Run("poll signed by another user", func(t *testing.T) {
		f := newFlow(t, a.url(""), "acme", acme)
		cb := f.start()
		if r := f.poll(alice); r.field("status") != "pending" {
			t.Fatalf("alice's first poll = %s", r)
		}
		f.callback(cb)
		// Mallory learned the nonce (it is in URLs) and polls first after
		// the callback: refused, and the code is still alice's.
		if r := f.poll(mallory); r.status != 403 || r.code() != oauth.CodeNonceOwner {
			t.Errorf("mallory's poll = %s, want 403 nonce_owner_mismatch", r)
		}
		if r := f.poll(alice); r.field("status") != "authenticated" {
			t.Errorf("alice's poll = %s, want authenticated", r)
		}
		if r := f.poll(mallory); r.status != 403 || r.code() != oauth.CodeNonceOwner {
			t.Errorf("mallory's poll after alice's claim = %s, want 403", r)
		}
		if r := f.api("GET", "/user", "", mallory); r.code() != oauth.CodeLoginRequired {
			t.Errorf("mallory's proxied call = %s, want oauth_login_required", r)
		}
		if r := f.api("GET", "/user", "", alice); r.status != 200 {
			t.Errorf("alice's proxied call = %s", r)
		}
	})

	t.Run("callback with an unknown state", func(t *testing.T) {
		cb := a.url("/v1/oauth/acme/callback?code=forged&state=never-started-0123456789")
		r := browse(t, "GET", cb, nil)
		if r.status != 400 || !strings.Contains(r.body, oauth.CodeNonceUnknown) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("callback = %s, want a 400 page saying nonce_unknown", r)
		}
		if r := browse(t, "GET", cb, nil, "Accept", "application/json"); r.status != 400 || r.code() != oauth.CodeNonceUnknown {
			t.Errorf("JSON callback = %s", r)
		}
	})

	t.Run("token endpoint down is a clear 502", func(t *testing.T) {
		f := newFlow(t, a.url(""), "down", down)
		cb := f.start()
		if r := f.poll(alice); r.field("status") != "pending" {
			t.Fatalf("poll = %s", r)
		}
		if r := f.callback(cb); r.status != 200 {
			t.Fatalf("callback = %s", r)
		}
		down.Close() // the provider stops: its token endpoint refuses connections
		r := f.poll(alice)
		if r.status != http.StatusBadGateway || r.code() != oauth.CodeProviderUnavailable || !strings.Contains(r.body, "token endpoint of provider down") {
			t.Errorf("poll with the provider down = %s, want 502 oauth_provider_unavailable naming the token endpoint", r)
		}
		if !strings.Contains(r.body, `"type":"api_error"`) {
			t.Errorf("type is not api_error: %s", r.body)
		}

		// A provider answering 5xx is a 502 too, with its status.
		g := newFlow(t, a.url(""), "acme", acme)
		cb = g.start()
		g.poll(alice)
		g.callback(cb)
		acme.SetDown(true)
		defer acme.SetDown(false)
		if r := g.poll(alice); r.status != http.StatusBadGateway || r.code() != oauth.CodeProviderUnavailable || !strings.Contains(r.body, "503") {
			t.Errorf("poll with the token endpoint answering 503 = %s", r)
		}
	})
}
