package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/oauthtest"
)

// PKCE through the real Envoy, against a provider that requires it:
//
//   - a provider declared with pkce: true, where atlas makes the verifier
//     and the user logs in through the broker;
//   - issue #5's case: the app's frontend does PKCE itself, as a public
//     client of the provider redirecting to a page of its own, and keeps the
//     tokens in the Secret Store (signed POST /v1/apps/secrets, then find
//     with expand[]=payload), where no other user can read them.
func TestOAuthPKCEThroughEnvoy(t *testing.T) {
	const frontendClient = "stripe-app-frontend"
	prov := oauthtest.New(t, oauthtest.Options{
		ForcePKCE:  true,
		ClientAuth: oauthtest.AuthAny, // atlas sends Basic; the public frontend, its client_id in the form
		Clients: []oauthtest.Client{
			{ID: oauthtest.DefaultClientID, Secret: oauthtest.DefaultClientSecret},
			{ID: frontendClient}, // public: no secret
		},
	})
	// The frontend's redirect page (in a real app, a page of the app's
	// own site that hands the code to the UI extension).
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("login complete; return to the app"))
	}))
	t.Cleanup(page.Close)
	if err := prov.SetRedirectBase(frontendClient, page.URL); err != nil {
		t.Fatal(err)
	}

	up := startRecorder(t)
	a := startAtlas(t, oauthConfig(up.port(), oauthProviderYAML("pkce", prov, true)), oauthEnv)
	if err := prov.SetRedirectBase(oauthtest.DefaultClientID, a.url("")); err != nil {
		t.Fatal(err)
	}
	a.waitStatus("/v1/apis/http/plain/ready", 200)
	a.waitStatus("/v1/oauth/pkce/status?state=wait-for-the-apps-route", 401)

	t.Run("the broker does PKCE", func(t *testing.T) {
		f := newFlow(t, a.url(""), "pkce", prov)
		f.login(alice)
		q := prov.LastAuthorize()
		challenge := q.Get("code_challenge")
		if q.Get("code_challenge_method") != "S256" || len(challenge) != 43 {
			t.Fatalf("the login's challenge = %q (%s), want S256", challenge, q.Get("code_challenge_method"))
		}
		verifier := prov.LastCodeForm().Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			t.Error("the code exchange's verifier does not match the login's challenge")
		}
		if r := f.api("GET", "/user", "", alice); r.status != 200 || r.field("user") != oauthtest.DefaultUser {
			t.Errorf("proxied call = %s", r)
		}
	})

	t.Run("the frontend does PKCE and keeps its tokens in the Secret Store", func(t *testing.T) {
		redirect := page.URL + "/oauth/done"
		// The provider refuses a public client's code without the verifier.
		q := url.Values{"response_type": {"code"}, "client_id": {frontendClient}, "redirect_uri": {redirect}, "state": {randomState()}}
		if r := browse(t, "GET", prov.AuthorizeURL()+"?"+q.Encode(), nil); strings.Contains(r.header.Get("Location"), "code=") {
			t.Fatalf("authorize without a code_challenge gave a code: %s", r.header.Get("Location"))
		}

		tok := frontendPKCE(t, prov, frontendClient, redirect)
		access, _ := tok["access_token"].(string)
		if r := providerAPI(t, prov, access); r.status != 200 {
			t.Fatalf("the frontend's token at the API = %s", r)
		}
		payload, err := json.Marshal(map[string]any{"access_token": access, "refresh_token": tok["refresh_token"], "expires_in": tok["expires_in"]})
		if err != nil {
			t.Fatal(err)
		}

		c := frontendCall(t, a, "POST", "/v1/apps/secrets", alice.id, alice.account,
			vals("name", "pkce_oauth_tokens", "payload", string(payload), "scope[type]", "user"))
		if c.status != 200 || c.obj["object"] != "apps.secret" || c.obj["payload"] != nil {
			t.Fatalf("create = %d %s", c.status, c.body)
		}
		f := frontendCall(t, a, "GET", "/v1/apps/secrets/find", alice.id, alice.account,
			vals("name", "pkce_oauth_tokens", "scope[type]", "user", "expand[]", "payload"))
		if f.status != 200 || f.obj["payload"] != string(payload) || f.obj["id"] != c.obj["id"] {
			t.Fatalf("find with expand[]=payload = %d %s", f.status, f.body)
		}
		// What the frontend reads back is a working token.
		var stored struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(f.obj["payload"].(string)), &stored); err != nil {
			t.Fatal(err)
		}
		if r := providerAPI(t, prov, stored.AccessToken); r.status != 200 {
			t.Errorf("the stored token at the API = %s", r)
		}

		// Another user of the same account cannot read them.
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", mallory.id, mallory.account,
			vals("name", "pkce_oauth_tokens", "scope[type]", "user", "expand[]", "payload")); r.status != 404 || strings.Contains(r.body, access) {
			t.Errorf("mallory's find = %d %s, want 404", r.status, r.body)
		}
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", mallory.id, mallory.account,
			vals("name", "pkce_oauth_tokens", "scope[type]", "user", "scope[user]", alice.id, "expand[]", "payload")); r.status != 403 || r.code() != "scope_forbidden" || strings.Contains(r.body, access) {
			t.Errorf("mallory naming alice = %d %s, want 403 scope_forbidden", r.status, r.body)
		}
		if strings.Contains(a.logs.String(), access) {
			t.Error("atlas logged the stored token")
		}
	})
}
