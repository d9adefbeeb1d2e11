package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/oauthtest"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// The OAuth broker's tests drive a real OAuth 2.0 authorization server
// (internal/oauthtest: go-oauth2/oauth2/v4 on 127.0.0.1) through the real
// Envoy and atlas. The test is the browser (it follows redirects by hand,
// one at a time) and the app's signed frontend.

// browser never follows a redirect (each hop is a step of the flow) and
// never reuses connections (each request sees Envoy's latest listener).
var browser = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// stripeUser is a Stripe user of the app's frontend.
type stripeUser struct{ id, account string }

var (
	alice   = stripeUser{"usr_alice", "acct_oauth"}
	mallory = stripeUser{"usr_mallory", "acct_oauth"}
)

// headers are what fetchStripeSignature() gives the frontend: the
// stripe-user header and its Stripe-Signature (with the test's secret).
func (u stripeUser) headers() []string {
	user := string(stripesig.UserPayload(u.id, u.account))
	return []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user, "Origin", "null"}
}

// answer is one HTTP exchange's result.
type answer struct {
	status int
	header http.Header
	body   string
}

// code is a Stripe-shaped error's code, or "".
func (r answer) code() string {
	var v struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(r.body), &v)
	return v.Error.Code
}

// field is a top-level string field of a JSON body.
func (r answer) field(name string) string {
	var v map[string]any
	_ = json.Unmarshal([]byte(r.body), &v)
	s, _ := v[name].(string)
	return s
}

func (r answer) String() string { return fmt.Sprintf("%d %s", r.status, strings.TrimSpace(r.body)) }

// browse sends one request to an absolute URL without following redirects.
func browse(t *testing.T, method, rawURL string, body io.Reader, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, rawURL, err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// oauthProviderYAML is one spec.oauthProviders entry for p, called name,
// whose redirectUrl is the callback through Envoy on INGRESS_PORT (which
// startAtlas fills in).
func oauthProviderYAML(name string, p *oauthtest.Server, pkce bool) string {
	return fmt.Sprintf(`  - name: %s
    authorizeUrl: %s
    tokenUrl: %s
    clientId: %s
    clientSecret: ${{ OAUTH_CLIENT_SECRET }}
    scopes: [read, write]
    apiBaseUrl: %s
    redirectUrl: http://127.0.0.1:INGRESS_PORT/v1/oauth/%s/callback
    pkce: %t
`, name, p.AuthorizeURL(), p.TokenURL(), oauthtest.DefaultClientID, p.APIBaseURL(), name, pkce)
}

// oauthConfig is appsConfig's StripeApp with the given providers.
func oauthConfig(upstreamPort int, providers ...string) string {
	return appsConfig(upstreamPort) + "  oauthProviders:\n" + strings.Join(providers, "")
}

var oauthEnv = map[string]string{"STRIPE_APP_SECRET": appSecret, "ATLAS_APP_KEY": appKey, "OAUTH_CLIENT_SECRET": oauthtest.DefaultClientSecret}

// oauthFlow is a login through atlas at base (http://127.0.0.1:PORT) for
// provider name, served by prov.
type oauthFlow struct {
	t     *testing.T
	base  string
	name  string
	prov  *oauthtest.Server
	state string
}

func newFlow(t *testing.T, base, name string, prov *oauthtest.Server) *oauthFlow {
	return &oauthFlow{t: t, base: base, name: name, prov: prov, state: randomState()}
}

// randomState is a fresh nonce, as a frontend makes one.
func randomState() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *oauthFlow) url(path string) string { return f.base + path }

// start opens the login window: atlas's 302 to the provider, the
// provider's 302 back. It returns the callback URL (not yet visited).
func (f *oauthFlow) start() string {
	f.t.Helper()
	r := browse(f.t, "GET", f.url("/v1/oauth/"+f.name+"/login?state="+f.state), nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(loc, f.prov.AuthorizeURL()+"?") {
		f.t.Fatalf("login = %s, Location %q; want 302 to %s", r, loc, f.prov.AuthorizeURL())
	}
	r = browse(f.t, "GET", loc, nil)
	cb := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(cb, f.url("/v1/oauth/"+f.name+"/callback?")) {
		f.t.Fatalf("the provider's authorize = %s, Location %q; want 302 to atlas's callback", r, cb)
	}
	return cb
}

// callback visits the provider's redirect, through Envoy.
func (f *oauthFlow) callback(cb string) answer {
	f.t.Helper()
	return browse(f.t, "GET", cb, nil)
}

// poll is the frontend's signed status poll.
func (f *oauthFlow) poll(u stripeUser) answer {
	f.t.Helper()
	return browse(f.t, "GET", f.url("/v1/oauth/"+f.name+"/status?state="+f.state), nil, u.headers()...)
}

// login is the whole login of u, as the seed's diagram runs it: the
// window opens, the frontend polls (binding the login to u), the provider
// redirects back, the next poll exchanges the code.
func (f *oauthFlow) login(u stripeUser) {
	f.t.Helper()
	cb := f.start()
	if r := f.poll(u); r.status != http.StatusOK || r.field("status") != "pending" {
		f.t.Fatalf("poll before the callback = %s, want pending", r)
	}
	if r := f.callback(cb); r.status != http.StatusOK || !strings.Contains(r.body, "You are logged in") {
		f.t.Fatalf("callback through Envoy = %s", r)
	}
	if r := f.poll(u); r.status != http.StatusOK || r.field("status") != "authenticated" {
		f.t.Fatalf("poll after the callback = %s, want authenticated", r)
	}
}

// api is a signed proxied call to /v1/apis/oauth/NAME/PATH.
func (f *oauthFlow) api(method, path, body string, u stripeUser, hdr ...string) answer {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return browse(f.t, method, f.url("/v1/apis/oauth/"+f.name+path), rd, append(u.headers(), hdr...)...)
}

// logout is the signed DELETE of u's tokens.
func (f *oauthFlow) logout(u stripeUser) answer {
	f.t.Helper()
	return browse(f.t, "DELETE", f.url("/v1/oauth/"+f.name+"/tokens"), nil, u.headers()...)
}

// pkcePair is a PKCE verifier and its S256 challenge (RFC 7636).
func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// frontendPKCE is a frontend that does PKCE itself, as a public client
// of prov whose redirect_uri is a page the test serves (a stand-in for the
// app's own page): authorize with a challenge, land on the page, exchange
// the code with the verifier. It returns the token response.
func frontendPKCE(t *testing.T, prov *oauthtest.Server, clientID, redirectURI string) map[string]any {
	t.Helper()
	verifier, challenge := pkcePair()
	state := randomState()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"state": {state}, "scope": {"read"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	r := browse(t, "GET", prov.AuthorizeURL()+"?"+q.Encode(), nil)
	loc := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(loc, redirectURI+"?") {
		t.Fatalf("frontend authorize = %s, Location %q", r, loc)
	}
	if page := browse(t, "GET", loc, nil); page.status != http.StatusOK {
		t.Fatalf("the frontend's redirect page = %s", page)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("state") != state {
		t.Fatalf("the redirect's state %q is not the frontend's", u.Query().Get("state"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {redirectURI},
		"client_id": {clientID}, "code_verifier": {verifier}}
	r = browse(t, "POST", prov.TokenURL(), strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	var tok map[string]any
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || r.status != http.StatusOK || tok["access_token"] == nil {
		t.Fatalf("frontend code exchange = %s", r)
	}
	return tok
}

// providerAPI calls prov's protected API directly with token.
func providerAPI(t *testing.T, prov *oauthtest.Server, token string) answer {
	t.Helper()
	return browse(t, "GET", prov.APIBaseURL()+"/user", nil, "Authorization", "Bearer "+token)
}
