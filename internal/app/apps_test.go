package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/metrics"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/oauth"
	"github.com/atlas-gateway/atlas/internal/oauthtest"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

func TestCheckAppsAddress(t *testing.T) {
	tests := []struct{ addr, wantErr string }{
		{"127.0.0.1:18001", ""},
		{"127.0.0.1:0", ""},
		{"[::1]:18001", ""},
		{"0.0.0.0:18001", "loopback"},
		{"10.0.0.5:18001", "loopback"},
		{"localhost:18001", "loopback IP address"},
		{"18001", "IP:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkAppsAddress(tt.addr)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkAppsAddress(%q) = %v, want an error mentioning %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}

// The app key is a secret: Envoy log lines forwarded by atlas redact it.
func TestSecretValuesIncludeAppKey(t *testing.T) {
	cfg := &model.Config{StripeApps: []model.StripeApp{{Name: "a", SigningSecrets: []string{"absec_x"}, AppKey: "appkey_must_be_redacted"}}}
	if got := secretValues(cfg); !slices.Contains(got, "appkey_must_be_redacted") {
		t.Errorf("secretValues = %q, want the app key", got)
	}
}

// The OAuth broker as startApps mounts it: on the apps server, with the
// real store and the apps server's signature checks, against a real
// authorization server; refreshes are counted in the metrics.
func TestOAuthBrokerMounted(t *testing.T) {
	const secret = "absec_appsTestSecret0123456789"
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "atlas.db"), []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gw := &gateway{}
	m := metrics.New()
	a, err := startApps(slog.New(slog.DiscardHandler), "127.0.0.1:0", st, gw, m)
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	a.serve(serveErr)
	t.Cleanup(func() { a.stop(time.Second) })
	base := "http://" + gw.opts.AppsAddress

	// Access tokens live 30 s, within the broker's refresh skew: the first
	// proxied call refreshes.
	prov := oauthtest.New(t, oauthtest.Options{AccessTokenTTL: oauth.RefreshSkew})
	if err := prov.SetRedirectBase(oauthtest.DefaultClientID, base); err != nil {
		t.Fatal(err)
	}
	cfg := &model.Config{StripeApps: []model.StripeApp{{
		Name: "my-app", SigningSecrets: []string{secret}, Tolerance: time.Minute, MaxBodyBytes: 4096,
		AppKey: "appkey_appsTest_0123456789",
		OAuthProviders: []model.OAuthProvider{{
			Name: "acme", AuthorizeURL: prov.AuthorizeURL(), TokenURL: prov.TokenURL(),
			ClientID: oauthtest.DefaultClientID, ClientSecret: oauthtest.DefaultClientSecret, ClientAuth: model.OAuthClientAuthBasic,
			APIBaseURL: prov.APIBaseURL(), RedirectURL: base + "/v1/oauth/acme/callback",
		}},
	}}}
	if err := gw.apps.Update(cfg); err != nil {
		t.Fatal(err)
	}
	gw.oauth.Update(cfg)

	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, url string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	user := string(stripesig.UserPayload("usr_1", "acct_1"))
	signed := func(s string) []string {
		return []string{"Stripe-Signature", stripesig.Sign([]byte(user), []byte(s), time.Now()), "Stripe-User", user}
	}
	const state = "apps-test-state-0123456789"
	status := base + "/v1/oauth/acme/status?state=" + state

	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
		code   string
	}{
		{"unsigned", nil, 401, "signature_missing"},
		{"wrong secret", signed("absec_wrong"), 401, "signature_invalid"},
		{"backend key: no user", []string{"Authorization", "Bearer appkey_appsTest_0123456789", "Stripe-Account", "acct_1"}, 403, oauth.CodeUserRequired},
		{"signed: no login yet", signed(secret), 400, oauth.CodeNonceUnknown},
	} {
		resp, body := do("GET", status, tc.hdr...)
		if resp.StatusCode != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) || resp.Header.Get("Request-Id") == "" {
			t.Errorf("%s: %d %s, want %d %s with a Request-Id", tc.name, resp.StatusCode, body, tc.status, tc.code)
		}
	}

	resp, _ := do("GET", base+"/v1/oauth/acme/login?state="+state)
	resp, body := do("GET", resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", resp.Header.Get("Location")); resp.StatusCode != 200 {
		t.Fatalf("callback = %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", status, signed(secret)...); resp.StatusCode != 200 || !strings.Contains(body, "authenticated") {
		t.Fatalf("poll = %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", base+"/v1/apis/oauth/acme/user", signed(secret)...); resp.StatusCode != 200 || !strings.Contains(body, oauthtest.DefaultUser) {
		t.Fatalf("proxied call = %d %s", resp.StatusCode, body)
	}
	if n := prov.RefreshCalls.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	rec := httptest.NewRecorder()
	m.Mux().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `atlas_oauth_refreshes_total{provider="acme",result="success"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
	// The Secret Store is still served beside the broker.
	if resp, body := do("GET", base+"/v1/apps/secrets?scope%5Btype%5D=account", signed(secret)...); resp.StatusCode != 200 {
		t.Errorf("Secret Store list = %d %s", resp.StatusCode, body)
	}
	select {
	case err := <-serveErr:
		t.Fatal(err)
	default:
	}
}
