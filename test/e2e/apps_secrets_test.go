package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v83"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// The Secret Store through the real Envoy and atlas: Envoy routes
// /v1/apps/ to atlas's apps server, which verifies every caller itself.

const appKey = "appkey_e2e_0123456789abcdef0123"

var appsEnv = map[string]string{"STRIPE_APP_SECRET": appSecret, "ATLAS_APP_KEY": appKey}

// appsConfig has one StripeApp with a signing secret and an appKey, and an
// unsigned adapter (the file needs one) on upstreamPort.
func appsConfig(upstreamPort int) string {
	return atlasConfig(adapter{name: "plain", baseURL: fmt.Sprintf("http://127.0.0.1:%d", upstreamPort), headers: [][2]string{{"Authorization", "Bearer plain-key"}}}) +
		"---\napiVersion: atlas/v1alpha1\nkind: StripeApp\nmetadata:\n  name: my-app\nspec:\n  appKey: ${{ ATLAS_APP_KEY }}\n  signingSecrets:\n  - ${{ STRIPE_APP_SECRET }}\n"
}

// storeResult is one Secret Store answer.
type storeResult struct {
	status int
	body   string
	obj    map[string]any
}

func (r storeResult) code() string {
	e, _ := r.obj["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// frontendCall sends what a Stripe App UI extension sends: form-encoded
// parameters (in the query string for GET, the body for POST) signed with
// the stripe-user header and its Stripe-Signature, Origin: null.
func frontendCall(t *testing.T, a *atlas, method, path string, userID, accountID string, params url.Values) storeResult {
	t.Helper()
	user := string(stripesig.UserPayload(userID, accountID))
	hdr := []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user, "Origin", "null"}
	var resp *http.Response
	var body string
	var err error
	if method == http.MethodGet {
		resp, body, err = a.do(method, path+"?"+params.Encode(), nil, hdr...)
	} else {
		hdr = append(hdr, "Content-Type", "application/x-www-form-urlencoded")
		resp, body, err = a.do(method, path, strings.NewReader(params.Encode()), hdr...)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	r := storeResult{status: resp.StatusCode, body: body}
	if err := json.Unmarshal([]byte(body), &r.obj); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "null" {
		t.Errorf("%s %s: Access-Control-Allow-Origin = %q, want null (Origin: null is the UI extension)", method, path, got)
	}
	return r
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestSecretStoreThroughEnvoy(t *testing.T) {
	up := startRecorder(t)
	a := startAtlas(t, appsConfig(up.port()), appsEnv)
	a.waitStatus("/v1/apis/http/plain/ready", 200)
	a.waitStatus("/v1/apps/secrets", 401)

	t.Run("frontend create, find, list, delete", func(t *testing.T) {
		before := len(up.requests())
		c := frontendCall(t, a, "POST", "/v1/apps/secrets", "usr_e2e", "acct_e2e",
			vals("name", "github_token", "payload", "gho_e2e<&>", "scope[type]", "user"))
		if c.status != 200 || c.obj["object"] != "apps.secret" || c.obj["payload"] != nil {
			t.Fatalf("create: %d %s", c.status, c.body)
		}
		id, _ := c.obj["id"].(string)
		if scope, _ := c.obj["scope"].(map[string]any); scope["type"] != "user" || scope["user"] != "usr_e2e" {
			t.Errorf("scope = %v", c.obj["scope"])
		}

		f := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_e2e", "acct_e2e", vals("name", "github_token", "scope[type]", "user"))
		if f.status != 200 || f.obj["id"] != id || f.obj["payload"] != nil {
			t.Errorf("find without expand: %d %s", f.status, f.body)
		}
		f = frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_e2e", "acct_e2e", vals("name", "github_token", "scope[type]", "user", "expand[]", "payload"))
		if f.status != 200 || f.obj["payload"] != "gho_e2e<&>" {
			t.Errorf("find with expand[]=payload: %d %s", f.status, f.body)
		}

		l := frontendCall(t, a, "GET", "/v1/apps/secrets", "usr_e2e", "acct_e2e", vals("scope[type]", "user"))
		data, _ := l.obj["data"].([]any)
		if l.status != 200 || l.obj["object"] != "list" || len(data) != 1 || data[0].(map[string]any)["id"] != id {
			t.Errorf("list: %d %s", l.status, l.body)
		}

		d := frontendCall(t, a, "POST", "/v1/apps/secrets/delete", "usr_e2e", "acct_e2e", vals("name", "github_token", "scope[type]", "user"))
		if d.status != 200 || d.obj["deleted"] != true || d.obj["id"] != id {
			t.Errorf("delete: %d %s", d.status, d.body)
		}
		if f := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_e2e", "acct_e2e", vals("name", "github_token", "scope[type]", "user")); f.status != 404 || f.code() != "resource_missing" {
			t.Errorf("find after delete: %d %s", f.status, f.body)
		}
		if n := len(up.requests()) - before; n != 0 {
			t.Errorf("Secret Store calls reached the adapter's upstream %d times", n)
		}
	})

	t.Run("at most 10 secrets per scope", func(t *testing.T) {
		for i := range 10 {
			if r := frontendCall(t, a, "POST", "/v1/apps/secrets", "usr_limit", "acct_e2e", vals("name", fmt.Sprint("s", i), "payload", "v", "scope[type]", "user")); r.status != 200 {
				t.Fatalf("secret %d: %d %s", i+1, r.status, r.body)
			}
		}
		r := frontendCall(t, a, "POST", "/v1/apps/secrets", "usr_limit", "acct_e2e", vals("name", "s10", "payload", "v", "scope[type]", "user"))
		if r.status != 400 || r.code() != "secret_limit_reached" {
			t.Fatalf("11th secret: %d %s", r.status, r.body)
		}
		if r := frontendCall(t, a, "POST", "/v1/apps/secrets", "usr_limit", "acct_e2e", vals("name", "s0", "payload", "replaced", "scope[type]", "user")); r.status != 200 {
			t.Errorf("replacing in a full scope: %d %s", r.status, r.body)
		}
	})

	t.Run("one user cannot read another's secret", func(t *testing.T) {
		if r := frontendCall(t, a, "POST", "/v1/apps/secrets", "usr_alice", "acct_e2e", vals("name", "token", "payload", "alice-only", "scope[type]", "user")); r.status != 200 {
			t.Fatalf("alice create: %d %s", r.status, r.body)
		}
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_bob", "acct_e2e", vals("name", "token", "scope[type]", "user", "expand[]", "payload")); r.status != 404 || strings.Contains(r.body, "alice-only") {
			t.Errorf("bob, his own scope: %d %s", r.status, r.body)
		}
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_bob", "acct_e2e", vals("name", "token", "scope[type]", "user", "scope[user]", "usr_alice", "expand[]", "payload")); r.status != 403 || r.code() != "scope_forbidden" || strings.Contains(r.body, "alice-only") {
			t.Errorf("bob naming alice: %d %s", r.status, r.body)
		}
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets", "usr_alice", "acct_other", vals("scope[type]", "user")); r.status != 200 || len(r.obj["data"].([]any)) != 0 {
			t.Errorf("the same user id in another account: %d %s", r.status, r.body)
		}
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_alice", "acct_e2e", vals("name", "token", "scope[type]", "user", "expand[]", "payload")); r.obj["payload"] != "alice-only" {
			t.Errorf("alice: %d %s", r.status, r.body)
		}
	})

	t.Run("bad signatures and keys are Stripe-shaped 401s", func(t *testing.T) {
		user := string(stripesig.UserPayload("usr_e2e", "acct_e2e"))
		cases := []struct {
			name string
			hdr  []string
			code string
		}{
			{"no credentials", nil, "signature_missing"},
			{"wrong secret", []string{"Stripe-Signature", signNow(user, "absec_wrong"), "Stripe-User", user}, "signature_invalid"},
			{"wrong app key", []string{"Authorization", "Bearer appkey_wrong_0123456789abcdef", "Stripe-Account", "acct_e2e"}, "app_key_invalid"},
		}
		for _, c := range cases {
			resp, body, err := a.do("GET", "/v1/apps/secrets?scope%5Btype%5D=account", nil, c.hdr...)
			if err != nil || resp.StatusCode != 401 || !strings.Contains(body, `"code":"`+c.code+`"`) || strings.Contains(body, appKey) {
				t.Errorf("%s: %v %v %s", c.name, resp.StatusCode, err, body)
			}
		}
	})

	t.Run("preflight from a UI extension", func(t *testing.T) {
		resp, _, err := a.do("OPTIONS", "/v1/apps/secrets", nil, "Origin", "null", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "stripe-signature, stripe-user, content-type")
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "null" {
			t.Fatalf("preflight: %v %v %v", resp.StatusCode, err, resp.Header)
		}
	})

	t.Run("stripe-go as the app's backend", func(t *testing.T) {
		backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
			URL:               stripe.String(a.url("")),
			HTTPClient:        &http.Client{Timeout: 10 * time.Second},
			MaxNetworkRetries: stripe.Int64(0),
			LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		})
		backends := &stripe.Backends{API: backend, Connect: backend, Uploads: backend, MeterEvents: backend}
		sc := stripe.NewClient(appKey, stripe.WithBackends(backends))
		ctx := t.Context()

		create := &stripe.AppsSecretCreateParams{
			Name: stripe.String("dropbox_token"), Payload: stripe.String("sl.backend"),
			Scope: &stripe.AppsSecretCreateScopeParams{Type: stripe.String("user"), User: stripe.String("usr_e2e")},
		}
		create.SetStripeAccount("acct_e2e")
		created, err := sc.V1AppsSecrets.Create(ctx, create)
		if err != nil || created.Name != "dropbox_token" || created.Payload != "" {
			t.Fatalf("Create = %+v, %v", created, err)
		}
		find := &stripe.AppsSecretFindParams{
			Name:  stripe.String("dropbox_token"),
			Scope: &stripe.AppsSecretFindScopeParams{Type: stripe.String("user"), User: stripe.String("usr_e2e")},
		}
		find.SetStripeAccount("acct_e2e")
		find.AddExpand("payload")
		found, err := sc.V1AppsSecrets.Find(ctx, find)
		if err != nil || found.ID != created.ID || found.Payload != "sl.backend" {
			t.Fatalf("Find = %+v, %v", found, err)
		}
		list := &stripe.AppsSecretListParams{Scope: &stripe.AppsSecretListScopeParams{Type: stripe.String("user"), User: stripe.String("usr_e2e")}}
		list.SetStripeAccount("acct_e2e")
		n := 0
		for s, err := range sc.V1AppsSecrets.List(ctx, list) {
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if s.ID != created.ID {
				t.Errorf("listed %+v", s)
			}
			n++
		}
		if n != 1 {
			t.Errorf("List returned %d secrets, want 1", n)
		}
		// The user's frontend reads what the backend stored.
		if r := frontendCall(t, a, "GET", "/v1/apps/secrets/find", "usr_e2e", "acct_e2e", vals("name", "dropbox_token", "scope[type]", "user", "expand[]", "payload")); r.obj["payload"] != "sl.backend" {
			t.Errorf("frontend find of the backend's secret: %d %s", r.status, r.body)
		}
		del := &stripe.AppsSecretDeleteWhereParams{
			Name:  stripe.String("dropbox_token"),
			Scope: &stripe.AppsSecretDeleteWhereScopeParams{Type: stripe.String("user"), User: stripe.String("usr_e2e")},
		}
		del.SetStripeAccount("acct_e2e")
		if d, err := sc.V1AppsSecrets.DeleteWhere(ctx, del); err != nil || !d.Deleted {
			t.Fatalf("DeleteWhere = %+v, %v", d, err)
		}
		_, err = sc.V1AppsSecrets.Find(ctx, find)
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != "resource_missing" {
			t.Errorf("Find after delete: %#v", err)
		}
		// Another account's backend call sees none of acct_e2e's secrets.
		other := &stripe.AppsSecretListParams{Scope: &stripe.AppsSecretListScopeParams{Type: stripe.String("user"), User: stripe.String("usr_alice")}}
		other.SetStripeAccount("acct_other")
		for s, err := range sc.V1AppsSecrets.List(ctx, other) {
			t.Errorf("acct_other lists %+v, %v", s, err)
		}
	})

	if strings.Contains(a.logs.String(), appKey) || strings.Contains(a.logs.String(), "alice-only") {
		t.Errorf("atlas logged the app key or a payload")
	}
}
