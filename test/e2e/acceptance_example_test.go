package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/oauth"
	"github.com/atlas-gateway/atlas/internal/oauthtest"
)

// Issue #5's acceptance check: examples/stripe-app/atlas.yml from the repo,
// run as it is (not a copy, not rewritten) with its own data port, 8082,
// through the real Envoy. The test signs requests itself with the app's
// STRIPE_APP_SECRET and
//
//   - drives the Secret Store in Stripe's wire format (form-encoded, signed
//     stripe-user header): create, find with expand[]=payload, list,
//     delete, the 10-per-scope limit, isolation between users and accounts;
//   - runs the OAuth flow against a loopback OAuth 2.0 server
//     (internal/oauthtest, go-oauth2) that the example reaches through its
//     OAUTH_* variables.
//
// The example's environment: STRIPE_APP_SECRET and the six OAUTH_*
// variables are what the check uses; STRIPE_API_KEY and BACKEND_KEY belong
// to the example's two adapters, which the check does not call, so they are
// set to dummies (the file refuses to load with any of them unset).
//
// Port 8082 must be free: this fails, rather than skips, when it is not.
func TestAcceptanceExample(t *testing.T) {
	const examplePort = 8082
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", examplePort)); err != nil {
		t.Fatalf("port %d is busy on this machine (%v). The acceptance check runs examples/stripe-app/atlas.yml as it is, "+
			"and its data port (spec.exposedPorts.ingressHttpPort) is %d: stop whatever listens there (ss -ltnp 'sport = :%d') and run it again",
			examplePort, err, examplePort, examplePort)
	} else {
		l.Close()
	}
	example, err := filepath.Abs("../../examples/stripe-app/atlas.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", examplePort)
	const provider = "thirdparty" // the example's spec.oauthProviders[0].name
	prov := oauthtest.New(t, oauthtest.Options{Clients: []oauthtest.Client{
		{ID: oauthtest.DefaultClientID, Secret: oauthtest.DefaultClientSecret, RedirectBase: base},
	}})
	env := map[string]string{
		"STRIPE_APP_SECRET":   appSecret,
		"OAUTH_AUTHORIZE_URL": prov.AuthorizeURL(),
		"OAUTH_TOKEN_URL":     prov.TokenURL(),
		"OAUTH_CLIENT_ID":     oauthtest.DefaultClientID,
		"OAUTH_CLIENT_SECRET": oauthtest.DefaultClientSecret,
		"OAUTH_API_BASE_URL":  prov.APIBaseURL(),
		"OAUTH_REDIRECT_URL":  base + "/v1/oauth/" + provider + "/callback",
		// The example's adapters' keys: required by the file, unused here.
		"STRIPE_API_KEY": "sk_test_acceptance_dummy",
		"BACKEND_KEY":    "backend-acceptance-dummy",
	}
	a := startExample(t, example, examplePort, env)
	a.waitStatus("/v1/apps/secrets", 401)
	a.waitStatus("/v1/oauth/"+provider+"/status?state=wait-for-the-apps-route", 401)

	const acct, otherAcct = "acct_acceptance", "acct_acceptanceOther"
	call := func(t *testing.T, method, path, user, account string, kv ...string) storeResult {
		t.Helper()
		return frontendCall(t, a, method, path, user, account, vals(kv...))
	}

	t.Run("Secret Store: create, find, list, delete", func(t *testing.T) {
		c := call(t, "POST", "/v1/apps/secrets", "usr_ann", acct, "name", "github_token", "payload", "gho_acceptance&=+", "scope[type]", "user")
		if c.status != 200 {
			t.Fatalf("create = %d %s", c.status, c.body)
		}
		id, _ := c.obj["id"].(string)
		scope, _ := c.obj["scope"].(map[string]any)
		if !strings.HasPrefix(id, "appsecret_") || c.obj["object"] != "apps.secret" || c.obj["name"] != "github_token" ||
			c.obj["livemode"] != false || c.obj["expires_at"] != nil || c.obj["created"] == nil ||
			scope["type"] != "user" || scope["user"] != "usr_ann" {
			t.Errorf("created object = %s", c.body)
		}
		if _, ok := c.obj["payload"]; ok {
			t.Errorf("create answered the payload without expand[]=payload: %s", c.body)
		}

		f := call(t, "GET", "/v1/apps/secrets/find", "usr_ann", acct, "name", "github_token", "scope[type]", "user")
		if _, ok := f.obj["payload"]; f.status != 200 || f.obj["id"] != id || ok {
			t.Errorf("find without expand = %d %s", f.status, f.body)
		}
		f = call(t, "GET", "/v1/apps/secrets/find", "usr_ann", acct, "name", "github_token", "scope[type]", "user", "expand[]", "payload")
		if f.status != 200 || f.obj["payload"] != "gho_acceptance&=+" {
			t.Errorf("find with expand[]=payload = %d %s", f.status, f.body)
		}

		if r := call(t, "POST", "/v1/apps/secrets", "usr_ann", acct, "name", "shared_key", "payload", "acct-wide", "scope[type]", "account"); r.status != 200 {
			t.Fatalf("create in the account scope = %d %s", r.status, r.body)
		}
		l := call(t, "GET", "/v1/apps/secrets", "usr_ann", acct, "scope[type]", "user", "expand[]", "data.payload")
		data, _ := l.obj["data"].([]any)
		if l.status != 200 || l.obj["object"] != "list" || l.obj["url"] != "/v1/apps/secrets" || l.obj["has_more"] != false || len(data) != 1 {
			t.Fatalf("list = %d %s", l.status, l.body)
		}
		if s := data[0].(map[string]any); s["id"] != id || s["payload"] != "gho_acceptance&=+" {
			t.Errorf("listed %v", s)
		}

		d := call(t, "POST", "/v1/apps/secrets/delete", "usr_ann", acct, "name", "github_token", "scope[type]", "user")
		if d.status != 200 || d.obj["deleted"] != true || d.obj["id"] != id {
			t.Errorf("delete = %d %s", d.status, d.body)
		}
		if f := call(t, "GET", "/v1/apps/secrets/find", "usr_ann", acct, "name", "github_token", "scope[type]", "user"); f.status != 404 || f.code() != "resource_missing" {
			t.Errorf("find after delete = %d %s, want 404 resource_missing", f.status, f.body)
		}
		if r := call(t, "POST", "/v1/apps/secrets", "usr_ann", acct, "payload", "x", "scope[type]", "user"); r.status != 400 || r.code() != "parameter_missing" || r.obj["error"].(map[string]any)["param"] != "name" {
			t.Errorf("create without a name = %d %s, want a Stripe-shaped parameter_missing", r.status, r.body)
		}
	})

	t.Run("Secret Store: at most 10 secrets per scope", func(t *testing.T) {
		for i := range 10 {
			if r := call(t, "POST", "/v1/apps/secrets", "usr_full", acct, "name", fmt.Sprint("s", i), "payload", "v", "scope[type]", "user"); r.status != 200 {
				t.Fatalf("secret %d = %d %s", i+1, r.status, r.body)
			}
		}
		if r := call(t, "POST", "/v1/apps/secrets", "usr_full", acct, "name", "s10", "payload", "v", "scope[type]", "user"); r.status != 400 || r.code() != "secret_limit_reached" {
			t.Fatalf("the 11th = %d %s, want 400 secret_limit_reached", r.status, r.body)
		}
		if r := call(t, "POST", "/v1/apps/secrets", "usr_full", acct, "name", "s3", "payload", "replaced", "scope[type]", "user"); r.status != 200 {
			t.Errorf("replacing in a full scope = %d %s", r.status, r.body)
		}
		if r := call(t, "POST", "/v1/apps/secrets", "usr_other", acct, "name", "s10", "payload", "v", "scope[type]", "user"); r.status != 200 {
			t.Errorf("another user's scope is not full: %d %s", r.status, r.body)
		}
		call(t, "POST", "/v1/apps/secrets/delete", "usr_full", acct, "name", "s0", "scope[type]", "user")
		if r := call(t, "POST", "/v1/apps/secrets", "usr_full", acct, "name", "s10", "payload", "v", "scope[type]", "user"); r.status != 200 {
			t.Errorf("after a delete = %d %s", r.status, r.body)
		}
	})

	t.Run("Secret Store: users and accounts are isolated", func(t *testing.T) {
		if r := call(t, "POST", "/v1/apps/secrets", "usr_ann", acct, "name", "private", "payload", "ann-only", "scope[type]", "user"); r.status != 200 {
			t.Fatalf("create = %d %s", r.status, r.body)
		}
		if r := call(t, "GET", "/v1/apps/secrets/find", "usr_bob", acct, "name", "private", "scope[type]", "user", "expand[]", "payload"); r.status != 404 || strings.Contains(r.body, "ann-only") {
			t.Errorf("bob, his own scope = %d %s, want 404", r.status, r.body)
		}
		if r := call(t, "GET", "/v1/apps/secrets/find", "usr_bob", acct, "name", "private", "scope[type]", "user", "scope[user]", "usr_ann", "expand[]", "payload"); r.status != 403 || r.code() != "scope_forbidden" || strings.Contains(r.body, "ann-only") {
			t.Errorf("bob naming ann = %d %s, want 403 scope_forbidden", r.status, r.body)
		}
		if r := call(t, "GET", "/v1/apps/secrets", "usr_bob", acct, "scope[type]", "user"); r.status != 200 || len(r.obj["data"].([]any)) != 0 {
			t.Errorf("bob's list = %d %s, want empty", r.status, r.body)
		}
		// The account scope is shared by the account's users, not by
		// another account (even with the same user id).
		if r := call(t, "GET", "/v1/apps/secrets/find", "usr_bob", acct, "name", "shared_key", "scope[type]", "account", "expand[]", "payload"); r.obj["payload"] != "acct-wide" {
			t.Errorf("bob, the account scope = %d %s", r.status, r.body)
		}
		if r := call(t, "GET", "/v1/apps/secrets/find", "usr_ann", otherAcct, "name", "shared_key", "scope[type]", "account", "expand[]", "payload"); r.status != 404 || strings.Contains(r.body, "acct-wide") {
			t.Errorf("another account = %d %s, want 404", r.status, r.body)
		}
		if r := call(t, "GET", "/v1/apps/secrets/find", "usr_ann", otherAcct, "name", "private", "scope[type]", "user", "expand[]", "payload"); r.status != 404 || strings.Contains(r.body, "ann-only") {
			t.Errorf("the same user id in another account = %d %s, want 404", r.status, r.body)
		}
	})

	t.Run("OAuth flow", func(t *testing.T) {
		f := newFlow(t, base, provider, prov)
		f.login(alice)
		if q := prov.LastAuthorize(); q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != env["OAUTH_REDIRECT_URL"] {
			t.Errorf("the login sent %v; want PKCE (the example's pkce: true) and OAUTH_REDIRECT_URL", q)
		}
		if r := f.poll(alice); r.code() != oauth.CodeNonceUsed {
			t.Errorf("replayed poll = %s, want nonce_used", r)
		}
		r := f.api("GET", "/user?page=2", "", alice)
		if r.status != 200 || r.field("user") != oauthtest.DefaultUser || r.field("path") != "/api/user" {
			t.Fatalf("proxied call = %s", r)
		}
		if seen := prov.LastAPI(); seen.Query != "page=2" || seen.Header.Get("Authorization") != "Bearer "+prov.Issued()[0].AccessToken {
			t.Errorf("the API saw %+v", seen)
		}
		if r := f.api("GET", "/user", "", mallory); r.status != 401 || r.code() != oauth.CodeLoginRequired {
			t.Errorf("another user = %s, want 401 oauth_login_required", r)
		}
		if r := f.logout(alice); r.status != 200 || r.field("status") != "logged_out" {
			t.Fatalf("logout = %s", r)
		}
		if r := f.api("GET", "/user", "", alice); r.status != 401 || r.code() != oauth.CodeLoginRequired {
			t.Errorf("call after logout = %s, want 401 oauth_login_required", r)
		}
	})

	logs := a.logs.String()
	for _, s := range []string{appSecret, oauthtest.DefaultClientSecret, "gho_acceptance", "ann-only"} {
		if strings.Contains(logs, s) {
			t.Errorf("atlas's log holds a secret or a payload")
		}
	}
}

// startExample runs atlas on the config file at path, unchanged, whose
// data port is ingress; the other listeners take free ports.
func startExample(t *testing.T, path string, ingress int, env map[string]string) *atlas {
	t.Helper()
	a := &atlas{t: t, configPath: path, ingress: ingress, envoyAdmin: freePort(t), adminPort: freePort(t), logs: &syncBuffer{}}
	a.cmd = exec.Command(atlasBin, "run", "-f", path,
		"--ingress-address", "127.0.0.1",
		"--xds-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--envoy-admin-address", fmt.Sprintf("127.0.0.1:%d", a.envoyAdmin),
		"--envoy-bin", envoyBin,
		"--log-format", "json",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--admin-address", fmt.Sprintf("127.0.0.1:%d", a.adminPort),
		"--apps-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	)
	a.cmd.Env = os.Environ() // the later copies below win
	for k, v := range env {
		a.cmd.Env = append(a.cmd.Env, k+"="+v)
	}
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	return a
}
