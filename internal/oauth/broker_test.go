package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/manage"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/oauthtest"
	"github.com/atlas-gateway/atlas/internal/store"
)

// The whole flow of the seed's sequence diagram, then expiry, refresh,
// logout and the refused call.
func TestFullFlow(t *testing.T) {
	e := newEnv(t, envConfig{})
	const state = "alice-state-0123456789"
	e.fullLogin(state, alice)

	// The login asked for what the config says, and no PKCE.
	q := e.provider.LastAuthorize()
	for k, want := range map[string]string{"response_type": "code", "client_id": clientID, "redirect_uri": e.prov.RedirectURL, "state": state, "scope": "read write"} {
		if got := q.Get(k); got != want {
			t.Errorf("authorize %s = %q, want %q", k, got, want)
		}
	}
	if q.Has("code_challenge") {
		t.Error("authorize carries a code_challenge without pkce")
	}

	// A proxied call carries alice's token; the Stripe identity does not
	// reach the API, the path, query and body do.
	extra := http.Header{"Cookie": {"atlas_session=1"}, "X-Forwarded-For": {"10.0.0.1"}, "Content-Type": {"application/json"}, "Authorization": {"Bearer client-supplied"}, "Atlas-Stripe-App": {testApp}}
	r := e.api(http.MethodPost, "/repos/a%20b/issues?per_page=5&q=x%2By", `{"title":"hi"}`, alice, extra)
	if r.status != http.StatusOK {
		t.Fatalf("proxied call = %d %s", r.status, r.body)
	}
	if got := r.json(t)["user"]; got != providerUser {
		t.Errorf("the API saw user %v, want %s", got, providerUser)
	}
	seen := e.provider.LastAPI()
	if seen.Method != http.MethodPost || seen.RawPath != "/api/repos/a%20b/issues" || seen.Query != "per_page=5&q=x%2By" || seen.Body != `{"title":"hi"}` {
		t.Errorf("the API saw %+v", seen)
	}
	for _, h := range []string{"Stripe-Signature", "Stripe-User", "Cookie", "X-Forwarded-For", "Atlas-Stripe-App"} {
		if v := seen.Header.Get(h); v != "" {
			t.Errorf("the API received %s: %q", h, v)
		}
	}
	if a := seen.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") || a == "Bearer client-supplied" {
		t.Errorf("the API received Authorization %q, want alice's token", a)
	}
	if seen.Header.Get("Content-Type") != "application/json" {
		t.Error("Content-Type was not forwarded")
	}
	if r.header.Get("Set-Cookie") != "" || r.header.Get("X-Api-Version") != "7" {
		t.Errorf("response headers = %v; want the API's, without Set-Cookie", r.header)
	}
	if e.auth.bodies.Load() == 0 {
		t.Error("the Authenticator could not read the POST body")
	}
	firstToken := seen.Header.Get("Authorization")

	// The access token expires (by the broker's clock): the next call
	// refreshes first, and carries the new token.
	e.clock.Advance(2 * time.Hour)
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusOK {
		t.Fatalf("call after expiry = %d %s", r.status, r.body)
	}
	if n := e.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
	if got := e.provider.LastAPI().Header.Get("Authorization"); got == firstToken {
		t.Error("the call after the refresh carried the old token")
	}
	if log := e.refreshLog(); len(log) != 1 || !log[0] {
		t.Errorf("OnRefresh calls = %v, want [true]", log)
	}

	// Logout, then the call is refused with a way to log in again.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, e.url("/v1/oauth/"+testProvider+"/tokens"), nil)
	alice.sign(req)
	if r := e.do(req); r.status != http.StatusOK || r.json(t)["status"] != "logged_out" {
		t.Fatalf("logout = %d %s", r.status, r.body)
	}
	r = e.api(http.MethodGet, "/user", "", alice, nil)
	if r.status != http.StatusUnauthorized || r.errorCode() != CodeLoginRequired || !strings.Contains(r.body, "/v1/oauth/acme/login?state=NONCE") {
		t.Fatalf("call after logout = %d %s, want 401 oauth_login_required naming the login path", r.status, r.body)
	}
	if typ := r.json(t)["error"].(map[string]any)["type"]; typ != "invalid_request_error" {
		t.Errorf("error type = %v", typ)
	}
	// Logging out twice is fine.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodDelete, e.url("/v1/oauth/"+testProvider+"/tokens"), nil)
	alice.sign(req)
	if r := e.do(req); r.status != http.StatusOK {
		t.Errorf("second logout = %d %s", r.status, r.body)
	}
}

// PKCE on, client_secret_post, and a provider that requires PKCE.
func TestPKCE(t *testing.T) {
	e := newEnv(t, envConfig{pkce: true, provider: oauthtest.Options{ForcePKCE: true, ClientAuth: oauthtest.AuthPost}})
	const state = "pkce-state-0123456789"
	e.fullLogin(state, alice)

	q := e.provider.LastAuthorize()
	challenge := q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" || len(challenge) != 43 {
		t.Fatalf("authorize challenge = %q (%q), want S256", challenge, q.Get("code_challenge_method"))
	}
	form := e.provider.LastCodeForm()
	verifier := form.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
		t.Errorf("the exchange's code_verifier does not match the challenge")
	}
	if form.Get("client_secret") != clientSecret || form.Get("client_id") != clientID {
		t.Error("client_secret_post: the credentials are not in the form")
	}
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusOK {
		t.Fatalf("proxied call = %d %s", r.status, r.body)
	}

	// The verifier never left Atlas: someone who intercepts a code cannot
	// redeem it (the library enforces the challenge).
	cb := e.login("pkce-state-intercepted")
	u, _ := url.Parse(cb)
	stolen := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {e.prov.RedirectURL},
		"client_id": {clientID}, "client_secret": {clientSecret}}
	resp, err := http.PostForm(e.provider.TokenURL(), stolen)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a code redeemed without the verifier: %s", resp.Status)
	}
	if strings.Contains(cb, "verifier") {
		t.Error("the redirect exposes the verifier")
	}
}

func TestReplayedNonce(t *testing.T) {
	e := newEnv(t, envConfig{})
	const state = "replay-state-0123456789"
	e.fullLogin(state, alice)
	if r := e.poll(state, alice); r.status != http.StatusBadRequest || r.errorCode() != CodeNonceUsed {
		t.Errorf("replayed poll = %d %s, want 400 nonce_used", r.status, r.body)
	}
	if r := e.get(e.oauthPath("login", state), nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, CodeNonceUsed) {
		t.Errorf("login with a used state = %d %s, want 400 nonce_used", r.status, r.body)
	}
	if n := e.provider.CodeCalls.Load(); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
}

func TestExpiredNonce(t *testing.T) {
	t.Run("callback after expiry", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		const state = "expired-state-0123456789"
		cb := e.login(state)
		e.clock.Advance(DefaultNonceTTL + time.Second)
		r := e.callback(cb)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, CodeNonceExpired) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("late callback = %d %s, want a 400 page saying nonce_expired", r.status, r.body)
		}
		if r := e.poll(state, alice); r.status != http.StatusBadRequest || r.errorCode() != CodeNonceExpired {
			t.Errorf("poll = %d %s, want 400 nonce_expired", r.status, r.body)
		}
	})
	t.Run("poll after expiry", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		const state = "expired-state-abcdefghij"
		e.callback(e.login(state))
		e.clock.Advance(DefaultNonceTTL)
		if r := e.poll(state, alice); r.status != http.StatusBadRequest || r.errorCode() != CodeNonceExpired {
			t.Errorf("poll = %d %s, want 400 nonce_expired", r.status, r.body)
		}
		if n := e.provider.CodeCalls.Load(); n != 0 {
			t.Errorf("%d code exchanges for an expired login", n)
		}
	})
}

// The code is bound to the identity verified at poll time: once alice's
// poll has bound or claimed it, mallory's polls are refused.
func TestPollByAnotherUser(t *testing.T) {
	e := newEnv(t, envConfig{})
	const state = "owner-state-0123456789"
	e.fullLogin(state, alice)
	r := e.poll(state, mallory)
	if r.status != http.StatusForbidden || r.errorCode() != CodeNonceOwner {
		t.Errorf("mallory's poll after alice claimed = %d %s, want 403 nonce_owner_mismatch", r.status, r.body)
	}
	if r := e.api(http.MethodGet, "/user", "", mallory, nil); r.errorCode() != CodeLoginRequired {
		t.Errorf("mallory's proxied call = %d %s, want oauth_login_required", r.status, r.body)
	}

	// Mallory learns a state while alice is still logging in (alice's
	// frontend already polls): the code is alice's even if mallory polls
	// first after the callback.
	const second = "owner-state-abcdefghij"
	cb := e.login(second)
	if r := e.poll(second, alice); r.json(t)["status"] != "pending" {
		t.Fatalf("alice's first poll = %s", r.body)
	}
	e.callback(cb)
	if r := e.poll(second, mallory); r.status != http.StatusForbidden || r.errorCode() != CodeNonceOwner {
		t.Errorf("mallory's poll = %d %s, want 403", r.status, r.body)
	}
	if r := e.poll(second, alice); r.json(t)["status"] != "authenticated" {
		t.Errorf("alice's poll = %s", r.body)
	}
}

func TestCallbackUnknownState(t *testing.T) {
	e := newEnv(t, envConfig{})
	cb := e.url("/v1/oauth/" + testProvider + "/callback?code=abc&state=never-started-0123456789")
	r := e.get(cb, nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, CodeNonceUnknown) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("callback = %d %q, want a 400 page", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, cb, nil)
	req.Header.Set("Accept", "application/json")
	if r := e.do(req); r.status != http.StatusBadRequest || r.errorCode() != CodeNonceUnknown {
		t.Errorf("JSON callback = %d %s", r.status, r.body)
	}
	if r := e.get(e.url("/v1/oauth/"+testProvider+"/callback?state=never-started-0123456789"), nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, CodeMissingCode) {
		t.Errorf("callback without a code = %d %s", r.status, r.body)
	}
	// Markup in the provider's error is escaped on the page.
	const state = "denied-state-0123456789"
	e.get(e.oauthPath("login", state), nil)
	r = e.get(e.url("/v1/oauth/"+testProvider+"/callback?state="+state+"&error=access_denied%3Cscript%3E&error_description=no"), nil)
	if r.status != http.StatusOK || strings.Contains(r.body, "<script>") || !strings.Contains(r.body, "access_denied&lt;script&gt;") {
		t.Errorf("provider error page = %d %s", r.status, r.body)
	}
	if r := e.poll(state, alice); r.status != http.StatusBadRequest || r.errorCode() != CodeProviderDenied || !strings.Contains(r.body, "access_denied") {
		t.Errorf("poll after the provider's error = %d %s", r.status, r.body)
	}
}

func TestTokenEndpointDown(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		const state = "down-state-0123456789"
		cb := e.login(state)
		e.callback(cb)
		e.provider.SetDown(true)
		r := e.poll(state, alice)
		if r.status != http.StatusBadGateway || r.errorCode() != CodeProviderUnavailable || !strings.Contains(r.body, "503") || !strings.Contains(r.body, "token endpoint of provider acme") {
			t.Errorf("poll = %d %s, want a clear 502", r.status, r.body)
		}
		if typ := r.json(t)["error"].(map[string]any)["type"]; typ != "api_error" {
			t.Errorf("type = %v, want api_error", typ)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + l.Addr().String() + "/token"
		l.Close()
		e := newEnv(t, envConfig{edit: func(p *model.OAuthProvider) { p.TokenURL = closed }})
		const state = "unreach-state-0123456789"
		e.callback(e.login(state))
		r := e.poll(state, alice)
		if r.status != http.StatusBadGateway || r.errorCode() != CodeProviderUnavailable || !strings.Contains(r.body, "connection refused") {
			t.Errorf("poll = %d %s, want a clear 502", r.status, r.body)
		}
	})
	t.Run("4xx is the provider's error", func(t *testing.T) {
		e := newEnv(t, envConfig{edit: func(p *model.OAuthProvider) { p.ClientSecret = "wrong" }})
		const state = "refused-state-0123456789"
		e.callback(e.login(state))
		r := e.poll(state, alice)
		if r.status != http.StatusBadRequest || r.errorCode() != CodeExchangeFailed || !strings.Contains(r.body, "invalid_client") {
			t.Errorf("poll = %d %s, want 400 with invalid_client", r.status, r.body)
		}
		if strings.Contains(r.body, "wrong") || strings.Contains(r.body, clientSecret) {
			t.Errorf("the error shows the client secret: %s", r.body)
		}
	})
}

// A refresh the provider refuses: 401 with the reason, tokens deleted.
func TestRefreshFails(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fullLogin("refresh-fail-0123456789", alice)
	tok, err := e.store.GetOAuthTokens(t.Context(), store.OAuthTokenKey{App: testApp, Provider: testProvider, Account: alice.account, User: alice.id})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.provider.Manager.RemoveRefreshToken(t.Context(), tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	r := e.api(http.MethodGet, "/user", "", alice, nil)
	if r.status != http.StatusUnauthorized || r.errorCode() != CodeRefreshFailed || !strings.Contains(r.body, "invalid_grant") || !strings.Contains(r.body, "deleted") {
		t.Fatalf("call = %d %s, want 401 oauth_refresh_failed with invalid_grant", r.status, r.body)
	}
	if log := e.refreshLog(); len(log) != 1 || log[0] {
		t.Errorf("OnRefresh calls = %v, want [false]", log)
	}
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.errorCode() != CodeLoginRequired {
		t.Errorf("next call = %d %s, want oauth_login_required", r.status, r.body)
	}
	if n := e.provider.APICalls.Load(); n != 0 {
		t.Errorf("the API was called %d times after the refresh failed", n)
	}
}

// A provider that does not say when tokens expire: the API's 401 triggers
// one refresh and one retry (with the buffered body).
func TestRefreshAfterUpstream401(t *testing.T) {
	e := newEnv(t, envConfig{provider: oauthtest.Options{HideExpiry: true}})
	e.fullLogin("upstream401-0123456789", alice)
	key := store.OAuthTokenKey{App: testApp, Provider: testProvider, Account: alice.account, User: alice.id}
	revoke := func() {
		t.Helper()
		tok, err := e.store.GetOAuthTokens(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.Expiry.IsZero() {
			t.Fatalf("stored expiry %v, but the provider sent no expires_in", tok.Expiry)
		}
		// The provider revokes the access token early: its API answers 401.
		if err := e.provider.Manager.RemoveAccessToken(t.Context(), tok.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	revoke()
	r := e.api(http.MethodPut, "/items/1", "payload", alice, nil)
	if r.status != http.StatusOK || r.json(t)["body"] != "payload" {
		t.Fatalf("call = %d %s", r.status, r.body)
	}
	if n := e.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
	if n := e.provider.APICalls.Load(); n != 2 {
		t.Errorf("the API saw %d calls, want 2 (401, then the retry)", n)
	}

	// With the provider down, a refused token is a 502, not a logout.
	revoke()
	e.provider.SetDown(true)
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusBadGateway || r.errorCode() != CodeProviderUnavailable {
		t.Errorf("call with the provider down = %d %s", r.status, r.body)
	}
	e.provider.SetDown(false)
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusOK {
		t.Errorf("call once the provider is back = %d %s", r.status, r.body)
	}

	// A retry that is refused again is passed through: one refresh per call.
	calls := e.provider.RefreshCalls.Load()
	e.provider.Manager.SetRefreshTokenCfg(&manage.RefreshingConfig{AccessTokenExp: time.Nanosecond, IsGenerateRefresh: true, IsRemoveAccess: true, IsRemoveRefreshing: true})
	revoke()
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Bad credentials") {
		t.Errorf("call whose retry is refused = %d %s, want the API's 401", r.status, r.body)
	}
	if n := e.provider.RefreshCalls.Load() - calls; n != 1 {
		t.Errorf("%d refreshes for one call, want 1", n)
	}
}

// The provider's own short expiry, on its real clock, with expires_in
// hidden: Atlas learns of it from the API's 401.
func TestProviderExpiry(t *testing.T) {
	e := newEnv(t, envConfig{provider: oauthtest.Options{AccessTokenTTL: 2 * time.Second, HideExpiry: true}})
	e.fullLogin("provider-expiry-0123456789", alice)
	time.Sleep(2100 * time.Millisecond)
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusOK {
		t.Fatalf("call after the provider's expiry = %d %s", r.status, r.body)
	}
	if n := e.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
}

// Twenty concurrent calls with an expired token: one refresh.
func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fullLogin("concurrent-0123456789", alice)
	e.clock.Advance(2 * time.Hour)
	// A slow refresh, so the calls overlap it: they must wait for it
	// rather than start their own.
	e.provider.SetRefreshDelay(200 * time.Millisecond)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url("/v1/apis/oauth/"+testProvider+"/user"), nil)
			alice.sign(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("call %d: %d", i, s)
		}
	}
	if n := e.provider.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refresh calls at the provider, want exactly 1", n)
	}
	if log := e.refreshLog(); len(log) != 1 {
		t.Errorf("OnRefresh calls = %v, want one", log)
	}
}

func TestRequestChecks(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fullLogin("checks-state-0123456789", alice)
	signed := func(method, path string, body string, u *user, h http.Header) response {
		var req *http.Request
		if body != "" {
			req, _ = http.NewRequestWithContext(t.Context(), method, e.url(path), strings.NewReader(body))
		} else {
			req, _ = http.NewRequestWithContext(t.Context(), method, e.url(path), nil)
		}
		for k, v := range h {
			req.Header[k] = v
		}
		if u != nil {
			u.sign(req)
		}
		return e.do(req)
	}
	tests := []struct {
		name         string
		method, path string
		body         string
		u            *user
		h            http.Header
		status       int
		code         string
	}{
		{"unsigned proxy call", "GET", "/v1/apis/oauth/acme/user", "", nil, nil, 401, "signature_invalid"},
		{"unsigned poll", "GET", "/v1/oauth/acme/status?state=checks-state-0123456789", "", nil, nil, 401, "signature_invalid"},
		{"signed for another app", "GET", "/v1/apis/oauth/acme/user", "", &alice, http.Header{"X-Fake-App": {"other-app"}}, 403, CodeWrongApp},
		{"unknown provider", "GET", "/v1/apis/oauth/nope/user", "", &alice, nil, 404, CodeProviderUnknown},
		{"unknown endpoint", "GET", "/v1/oauth/acme/refresh", "", &alice, nil, 404, CodeNotFound},
		{"login by POST", "POST", "/v1/oauth/acme/login?state=checks-state-0123456789", "", nil, nil, 405, CodeMethodNotAllowed},
		{"logout by GET", "GET", "/v1/oauth/acme/tokens", "", &alice, nil, 405, CodeMethodNotAllowed},
		{"bad state", "GET", "/v1/oauth/acme/status?state=short", "", &alice, nil, 400, CodeInvalidState},
		{"login without state", "GET", "/v1/oauth/acme/login", "", nil, http.Header{"Accept": {"application/json"}}, 400, CodeInvalidState},
		{"dot-dot", "GET", "/v1/apis/oauth/acme/a/%2e%2e/admin", "", &alice, nil, 400, CodeInvalidPath},
		{"encoded slash", "GET", "/v1/apis/oauth/acme/a%2Fb", "", &alice, nil, 400, CodeInvalidPath},
		{"body too large", "POST", "/v1/apis/oauth/acme/upload", strings.Repeat("x", 4097), &alice, nil, 413, CodeBodyTooLarge},
		{"outside the broker", "GET", "/v1/other", "", &alice, nil, 404, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signed(tt.method, tt.path, tt.body, tt.u, tt.h)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Errorf("= %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	// A body at the limit passes.
	if r := signed("POST", "/v1/apis/oauth/acme/upload", strings.Repeat("x", 4096), &alice, nil); r.status != http.StatusOK {
		t.Errorf("body at the limit = %d %s", r.status, r.body)
	}
}

// Update swaps providers atomically; a removed provider is unknown.
func TestUpdate(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fullLogin("update-state-0123456789", alice)
	e.broker.Update(nil)
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusNotFound || r.errorCode() != CodeProviderUnknown {
		t.Errorf("after Update(nil) = %d %s", r.status, r.body)
	}
	e.update()
	if r := e.api(http.MethodGet, "/user", "", alice, nil); r.status != http.StatusOK {
		t.Errorf("after Update(cfg) = %d %s, want the stored tokens to work again", r.status, r.body)
	}
}

// A reloaded login window keeps the login's PKCE verifier, so either
// authorize attempt completes.
func TestLoginReload(t *testing.T) {
	e := newEnv(t, envConfig{pkce: true, provider: oauthtest.Options{ForcePKCE: true}})
	const state = "reload-state-0123456789"
	e.login(state)
	first := e.provider.LastAuthorize().Get("code_challenge")
	cb := e.login(state)
	if got := e.provider.LastAuthorize().Get("code_challenge"); got != first {
		t.Errorf("the reloaded login has challenge %q, want the first %q", got, first)
	}
	e.callback(cb)
	if r := e.poll(state, alice); r.json(t)["status"] != "authenticated" {
		t.Errorf("poll = %s", r.body)
	}
}
