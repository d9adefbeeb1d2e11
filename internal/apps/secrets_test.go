package apps

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// The four endpoints, called by a signed frontend in Stripe's wire format.
func TestSecretStoreRoundTrip(t *testing.T) {
	h := newHarness(t, oneApp())
	created := h.do("POST", "/v1/apps/secrets", form("name", "github_token", "payload", "s3cr3t-payload", "scope[type]", "user"), h.frontend(alice)).ok(t)
	id := str(created.json, "id")
	if !strings.HasPrefix(id, "appsecret_") || created.json["object"] != "apps.secret" || created.json["name"] != "github_token" ||
		created.json["livemode"] != false || created.json["expires_at"] != nil {
		t.Errorf("create = %s", created.body)
	}
	if !reflect.DeepEqual(created.json["scope"], map[string]any{"type": "user", "user": "usr_alice"}) {
		t.Errorf("scope = %v", created.json["scope"])
	}
	if c, _ := created.json["created"].(float64); int64(c) != h.clock.Now().Unix() {
		t.Errorf("created = %v", created.json["created"])
	}
	if _, ok := created.json["payload"]; ok {
		t.Errorf("create without expand returned the payload: %s", created.body)
	}
	if _, ok := created.json["deleted"]; ok {
		t.Errorf("a live secret says deleted: %s", created.body)
	}

	find := form("name", "github_token", "scope[type]", "user")
	got := h.do("GET", "/v1/apps/secrets/find", find, h.frontend(alice)).ok(t)
	if got.json["id"] != id || got.json["payload"] != nil {
		t.Errorf("find = %s", got.body)
	}
	find.Add("expand[]", "payload")
	got = h.do("GET", "/v1/apps/secrets/find", find, h.frontend(alice)).ok(t)
	if got.json["payload"] != "s3cr3t-payload" {
		t.Errorf("find with expand = %s", got.body)
	}

	list := h.do("GET", "/v1/apps/secrets", form("scope[type]", "user"), h.frontend(alice)).ok(t)
	data, _ := list.json["data"].([]any)
	if list.json["object"] != "list" || list.json["url"] != "/v1/apps/secrets" || list.json["has_more"] != false || len(data) != 1 {
		t.Fatalf("list = %s", list.body)
	}
	if item := data[0].(map[string]any); item["id"] != id || item["payload"] != nil {
		t.Errorf("list item = %v", item)
	}
	list = h.do("GET", "/v1/apps/secrets", form("scope[type]", "user", "expand[]", "data.payload"), h.frontend(alice)).ok(t)
	if item := list.json["data"].([]any)[0].(map[string]any); item["payload"] != "s3cr3t-payload" {
		t.Errorf("list with expand = %s", list.body)
	}

	del := h.do("POST", "/v1/apps/secrets/delete", form("name", "github_token", "scope[type]", "user"), h.frontend(alice)).ok(t)
	if del.json["deleted"] != true || del.json["id"] != id || del.json["payload"] != nil {
		t.Errorf("delete = %s", del.body)
	}
	h.do("GET", "/v1/apps/secrets/find", find, h.frontend(alice)).apiError(t, 404, CodeResourceMissing)
	h.do("POST", "/v1/apps/secrets/delete", form("name", "github_token", "scope[type]", "user"), h.frontend(alice)).apiError(t, 404, CodeResourceMissing)
}

// Create is "create or replace": the same name in the same scope is
// replaced (new id, new payload), even in a full scope.
func TestCreateReplaces(t *testing.T) {
	h := newHarness(t, oneApp())
	first := h.do("POST", "/v1/apps/secrets", form("name", "k", "payload", "one", "scope[type]", "account"), h.frontend(alice)).ok(t)
	second := h.do("POST", "/v1/apps/secrets", form("name", "k", "payload", "two", "scope[type]", "account", "expand[]", "payload"), h.frontend(bob)).ok(t)
	if second.json["id"] == first.json["id"] || second.json["payload"] != "two" {
		t.Errorf("replace = %s (first %s)", second.body, first.body)
	}
	list := h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), h.frontend(alice)).ok(t)
	if n := len(list.json["data"].([]any)); n != 1 {
		t.Errorf("after replace the scope lists %d secrets", n)
	}
}

// Every way a frontend signs: the stripe-user header, the older id
// headers, a signed JSON body (with parameters in it), and both.
func TestFrontendSignatureForms(t *testing.T) {
	h := newHarness(t, oneApp())
	payload := string(stripesig.UserPayload(alice.id, alice.account))
	sig := func(p string) string { return stripesig.Sign([]byte(p), []byte(testSecret), h.clock.Now()) }
	jsonBody := `{"name":"from_json","payload":"<b>&amp;","scope":{"type":"user"},"expand":["payload"],"user_id":"usr_alice","account_id":"acct_1"}`

	idHeaders := h.do("POST", "/v1/apps/secrets", form("name", "from_ids", "payload", "v", "scope[type]", "user"),
		http.Header{"Stripe-Signature": {sig(payload)}, "Stripe-User-Id": {alice.id}, "Stripe-Account-Id": {alice.account}}).ok(t)
	if str(idHeaders.json, "scope", "user") != alice.id {
		t.Errorf("id headers: %s", idHeaders.body)
	}

	req := httptest.NewRequest("POST", "/v1/apps/secrets", strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig(jsonBody))
	body := h.send(req).ok(t)
	if body.json["name"] != "from_json" || body.json["payload"] != "<b>&amp;" || str(body.json, "scope", "user") != alice.id {
		t.Errorf("signed JSON body: %s", body.body)
	}

	// fetch() with a string body and no Content-Type says text/plain.
	plain := strings.Replace(jsonBody, "from_json", "from_plain", 1)
	req = httptest.NewRequest("POST", "/v1/apps/secrets", strings.NewReader(plain))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Stripe-Signature", sig(plain))
	if r := h.send(req).ok(t); r.json["name"] != "from_plain" {
		t.Errorf("text/plain JSON body: %s", r.body)
	}

	// stripe-user beside a signed body: the body verifies, and stripe-user
	// names the same identity.
	req = httptest.NewRequest("POST", "/v1/apps/secrets", strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig(jsonBody))
	req.Header.Set("Stripe-User", payload)
	h.send(req).ok(t)

	// A form body is no signed payload: without stripe-user it fails, and
	// the message says what to send.
	r := h.do("POST", "/v1/apps/secrets", form("name", "x", "payload", "v", "scope[type]", "user"),
		http.Header{"Stripe-Signature": {sig("name=x")}})
	r.apiError(t, 401, string(stripesig.CodeSignatureInvalid))
	if !strings.Contains(str(r.json, "error", "message"), "stripe-user header") {
		t.Errorf("message gives no hint: %s", r.body)
	}
}

// A user reaches only their own user scope and their own account's scope;
// another account sees nothing of it. The backend reaches its account's
// scopes, any user's included.
func TestScopeIsolation(t *testing.T) {
	h := newHarness(t, oneApp())
	h.do("POST", "/v1/apps/secrets", form("name", "token", "payload", "alice-private", "scope[type]", "user"), h.frontend(alice)).ok(t)
	h.do("POST", "/v1/apps/secrets", form("name", "shared", "payload", "acct1-shared", "scope[type]", "account"), h.frontend(alice)).ok(t)

	tests := []struct {
		name       string
		hdr        http.Header
		form       []string
		wantStatus int
		wantCode   string
		wantValue  string
	}{
		{"alice, her user scope", h.frontend(alice), []string{"scope[type]", "user", "name", "token"}, 200, "", "alice-private"},
		{"alice, naming herself", h.frontend(alice), []string{"scope[type]", "user", "scope[user]", alice.id, "name", "token"}, 200, "", "alice-private"},
		{"bob, his own user scope", h.frontend(bob), []string{"scope[type]", "user", "name", "token"}, 404, CodeResourceMissing, ""},
		{"bob, naming alice", h.frontend(bob), []string{"scope[type]", "user", "scope[user]", alice.id, "name", "token"}, 403, CodeScopeForbidden, ""},
		{"bob, the shared account scope", h.frontend(bob), []string{"scope[type]", "account", "name", "shared"}, 200, "", "acct1-shared"},
		{"carol, another account's scope", h.frontend(carol), []string{"scope[type]", "account", "name", "shared"}, 404, CodeResourceMissing, ""},
		{"carol, naming alice", h.frontend(carol), []string{"scope[type]", "user", "scope[user]", alice.id, "name", "token"}, 403, CodeScopeForbidden, ""},
		{"backend of acct_1, alice's scope", backend(testAppKey, "acct_1"), []string{"scope[type]", "user", "scope[user]", alice.id, "name", "token"}, 200, "", "alice-private"},
		{"backend of acct_1, the account scope", backend(testAppKey, "acct_1"), []string{"scope[type]", "account", "name", "shared"}, 200, "", "acct1-shared"},
		{"backend of acct_2, alice's scope", backend(testAppKey, "acct_2"), []string{"scope[type]", "user", "scope[user]", alice.id, "name", "token"}, 404, CodeResourceMissing, ""},
		{"backend of acct_2, the account scope", backend(testAppKey, "acct_2"), []string{"scope[type]", "account", "name", "shared"}, 404, CodeResourceMissing, ""},
		{"backend without a user", backend(testAppKey, "acct_1"), []string{"scope[type]", "user", "name", "token"}, 400, CodeParameterMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form(append(tt.form, "expand[]", "payload")...)
			r := h.do("GET", "/v1/apps/secrets/find", f, tt.hdr)
			if tt.wantStatus != 200 {
				r.apiError(t, tt.wantStatus, tt.wantCode)
				return
			}
			if r.ok(t).json["payload"] != tt.wantValue {
				t.Errorf("payload = %v, want %s", r.json["payload"], tt.wantValue)
			}
		})
	}
	// Lists and deletes are scoped alike.
	if data := h.do("GET", "/v1/apps/secrets", form("scope[type]", "user"), h.frontend(bob)).ok(t).json["data"].([]any); len(data) != 0 {
		t.Errorf("bob lists %d secrets in his scope", len(data))
	}
	h.do("POST", "/v1/apps/secrets/delete", form("name", "token", "scope[type]", "user"), h.frontend(bob)).apiError(t, 404, CodeResourceMissing)
	h.do("POST", "/v1/apps/secrets/delete", form("name", "token", "scope[type]", "user", "scope[user]", alice.id), h.frontend(bob)).apiError(t, 403, CodeScopeForbidden)
	h.do("GET", "/v1/apps/secrets/find", form("name", "token", "scope[type]", "user"), h.frontend(alice)).ok(t)
	// The backend writes into a user's scope, and that user reads it.
	h.do("POST", "/v1/apps/secrets", form("name", "from_backend", "payload", "v", "scope[type]", "user", "scope[user]", bob.id), backend(testAppKey, "acct_1")).ok(t)
	h.do("GET", "/v1/apps/secrets/find", form("name", "from_backend", "scope[type]", "user"), h.frontend(bob)).ok(t)
}

func TestLimitPerScope(t *testing.T) {
	h := newHarness(t, oneApp())
	for i := range MaxSecretsPerScope {
		h.do("POST", "/v1/apps/secrets", form("name", fmt.Sprint("s", i), "payload", "v", "scope[type]", "user"), h.frontend(alice)).ok(t)
	}
	r := h.do("POST", "/v1/apps/secrets", form("name", "s10", "payload", "v", "scope[type]", "user"), h.frontend(alice))
	r.apiError(t, 400, CodeSecretLimit)
	if msg := str(r.json, "error", "message"); !strings.Contains(msg, "10 secrets") {
		t.Errorf("message %q does not state the limit", msg)
	}
	// Replacing is fine; other scopes have their own room.
	h.do("POST", "/v1/apps/secrets", form("name", "s3", "payload", "new", "scope[type]", "user"), h.frontend(alice)).ok(t)
	h.do("POST", "/v1/apps/secrets", form("name", "s10", "payload", "v", "scope[type]", "user"), h.frontend(bob)).ok(t)
	h.do("POST", "/v1/apps/secrets", form("name", "s10", "payload", "v", "scope[type]", "account"), h.frontend(alice)).ok(t)
	// Deleting one makes room.
	h.do("POST", "/v1/apps/secrets/delete", form("name", "s0", "scope[type]", "user"), h.frontend(alice)).ok(t)
	h.do("POST", "/v1/apps/secrets", form("name", "s10", "payload", "v", "scope[type]", "user"), h.frontend(alice)).ok(t)
}

func TestExpiresAt(t *testing.T) {
	h := newHarness(t, oneApp())
	now := h.clock.Now().Unix()
	h.do("POST", "/v1/apps/secrets", form("name", "old", "payload", "v", "scope[type]", "user", "expires_at", fmt.Sprint(now-1)), h.frontend(alice)).
		apiError(t, 400, CodeParameterInvalid)
	h.do("POST", "/v1/apps/secrets", form("name", "old", "payload", "v", "scope[type]", "user", "expires_at", fmt.Sprint(now)), h.frontend(alice)).
		apiError(t, 400, CodeParameterInvalid)
	h.do("POST", "/v1/apps/secrets", form("name", "ms", "payload", "v", "scope[type]", "user", "expires_at", fmt.Sprint(now*1000000)), h.frontend(alice)).
		apiError(t, 400, CodeParameterInteger)
	h.do("POST", "/v1/apps/secrets", form("name", "x", "payload", "v", "scope[type]", "user", "expires_at", "tomorrow"), h.frontend(alice)).
		apiError(t, 400, CodeParameterInteger)

	r := h.do("POST", "/v1/apps/secrets", form("name", "soon", "payload", "v", "scope[type]", "user", "expires_at", fmt.Sprint(now+60)), h.frontend(alice)).ok(t)
	if e, _ := r.json["expires_at"].(float64); int64(e) != now+60 {
		t.Errorf("expires_at = %v", r.json["expires_at"])
	}
	h.do("POST", "/v1/apps/secrets", form("name", "forever", "payload", "v", "scope[type]", "user"), h.frontend(alice)).ok(t)
	find := form("name", "soon", "scope[type]", "user")
	h.do("GET", "/v1/apps/secrets/find", find, h.frontend(alice)).ok(t)

	h.clock.Advance(61 * time.Second)
	h.do("GET", "/v1/apps/secrets/find", find, h.frontend(alice)).apiError(t, 404, CodeResourceMissing)
	data := h.do("GET", "/v1/apps/secrets", form("scope[type]", "user"), h.frontend(alice)).ok(t).json["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["name"] != "forever" {
		t.Errorf("list after expiry = %v", data)
	}
}

func TestListPagination(t *testing.T) {
	h := newHarness(t, oneApp())
	var ids []string // newest first
	for i := range 5 {
		r := h.do("POST", "/v1/apps/secrets", form("name", fmt.Sprint("p", i), "payload", "v", "scope[type]", "account"), h.frontend(alice)).ok(t)
		ids = append([]string{str(r.json, "id")}, ids...)
		h.clock.Advance(time.Second)
	}
	page := func(kv ...string) ([]string, bool) {
		r := h.do("GET", "/v1/apps/secrets", form(append([]string{"scope[type]", "account"}, kv...)...), h.frontend(alice)).ok(t)
		var got []string
		for _, d := range r.json["data"].([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		return got, r.json["has_more"] == true
	}
	if got, more := page("limit", "2"); !reflect.DeepEqual(got, ids[:2]) || !more {
		t.Errorf("first page = %v %v, want %v and more", got, more, ids[:2])
	}
	if got, more := page("limit", "2", "starting_after", ids[1]); !reflect.DeepEqual(got, ids[2:4]) || !more {
		t.Errorf("second page = %v %v", got, more)
	}
	if got, more := page("limit", "2", "starting_after", ids[3]); !reflect.DeepEqual(got, ids[4:]) || more {
		t.Errorf("last page = %v %v", got, more)
	}
	if got, more := page("limit", "2", "ending_before", ids[4]); !reflect.DeepEqual(got, ids[2:4]) || !more {
		t.Errorf("ending_before page = %v %v", got, more)
	}
	if got, _ := page(); len(got) != 5 {
		t.Errorf("default page = %v", got)
	}
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account", "limit", "0"), h.frontend(alice)).apiError(t, 400, CodeParameterInteger)
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account", "limit", "101"), h.frontend(alice)).apiError(t, 400, CodeParameterInteger)
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account", "starting_after", "appsecret_nope"), h.frontend(alice)).apiError(t, 400, CodeResourceMissing)
}

// Every refusal is a Stripe-shaped JSON error with the right status.
func TestErrors(t *testing.T) {
	h := newHarness(t, oneApp())
	signedBy := func(secret string) http.Header {
		p := string(stripesig.UserPayload(alice.id, alice.account))
		return http.Header{"Stripe-Signature": {stripesig.Sign([]byte(p), []byte(secret), h.clock.Now())}, "Stripe-User": {p}}
	}
	stale := func() http.Header {
		p := string(stripesig.UserPayload(alice.id, alice.account))
		return http.Header{"Stripe-Signature": {stripesig.Sign([]byte(p), []byte(testSecret), h.clock.Now().Add(-10*time.Minute))}, "Stripe-User": {p}}
	}
	withHeader := func(base http.Header, k, v string) http.Header {
		out := base.Clone()
		out.Add(k, v)
		return out
	}
	create := form("name", "n", "payload", "s3cr3t-payload", "scope[type]", "user")
	tests := []struct {
		name   string
		method string
		path   string
		form   map[string][]string
		hdr    http.Header
		status int
		code   string
	}{
		{"no credentials", "POST", "/v1/apps/secrets", create, nil, 401, string(stripesig.CodeSignatureMissing)},
		{"wrong signing secret", "POST", "/v1/apps/secrets", create, signedBy("absec_wrong"), 401, string(stripesig.CodeSignatureInvalid)},
		{"stale signature", "GET", "/v1/apps/secrets", form("scope[type]", "user"), stale(), 401, string(stripesig.CodeTimestampOutsideTolerance)},
		{"forged second stripe-user", "GET", "/v1/apps/secrets", form("scope[type]", "user"), withHeader(h.frontend(alice), "Stripe-User", string(stripesig.UserPayload(bob.id, bob.account))), 401, string(stripesig.CodeSignatureInvalid)},
		{"Stripe-Account of another account", "GET", "/v1/apps/secrets", form("scope[type]", "user"), withHeader(h.frontend(alice), "Stripe-Account", "acct_2"), 401, string(stripesig.CodeIdentityMismatch)},
		{"wrong app key", "GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(otherKey, "acct_1"), 401, CodeAppKeyInvalid},
		{"app key as a prefix", "GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(testAppKey[:20], "acct_1"), 401, CodeAppKeyInvalid},
		{"Basic with the wrong key", "GET", "/v1/apps/secrets", form("scope[type]", "account"), http.Header{"Authorization": {"Basic b3RoZXI6"}, "Stripe-Account": {"acct_1"}}, 401, CodeAppKeyInvalid},
		{"unknown scheme", "GET", "/v1/apps/secrets", form("scope[type]", "account"), http.Header{"Authorization": {"Token " + testAppKey}, "Stripe-Account": {"acct_1"}}, 401, CodeAuthorizationScheme},
		{"backend without Stripe-Account", "GET", "/v1/apps/secrets", form("scope[type]", "account"), http.Header{"Authorization": {"Bearer " + testAppKey}}, 400, CodeStripeAccountNeeded},
		{"backend with a bad Stripe-Account", "GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(testAppKey, "acct_1; drop"), 400, CodeStripeAccountBad},
		{"unknown parameter", "POST", "/v1/apps/secrets", form("name", "n", "payload", "v", "scope[type]", "user", "scope[team]", "x"), h.frontend(alice), 400, CodeParameterUnknown},
		{"missing name", "POST", "/v1/apps/secrets", form("payload", "v", "scope[type]", "user"), h.frontend(alice), 400, CodeParameterMissing},
		{"missing payload", "POST", "/v1/apps/secrets", form("name", "n", "scope[type]", "user"), h.frontend(alice), 400, CodeParameterMissing},
		{"missing scope", "POST", "/v1/apps/secrets", form("name", "n", "payload", "v"), h.frontend(alice), 400, CodeParameterMissing},
		{"bad scope type", "GET", "/v1/apps/secrets", form("scope[type]", "team"), h.frontend(alice), 400, CodeParameterInvalid},
		{"account scope with a user", "GET", "/v1/apps/secrets", form("scope[type]", "account", "scope[user]", alice.id), h.frontend(alice), 400, CodeParameterInvalid},
		{"name twice", "GET", "/v1/apps/secrets/find", map[string][]string{"name": {"a", "b"}, "scope[type]": {"user"}}, h.frontend(alice), 400, CodeParameterInvalid},
		{"expand of another field", "GET", "/v1/apps/secrets/find", form("name", "n", "scope[type]", "user", "expand[]", "scope"), h.frontend(alice), 400, CodeParameterInvalid},
		{"body over maxBodyBytes", "POST", "/v1/apps/secrets", form("name", "n", "payload", strings.Repeat("é", 5001), "scope[type]", "user"), h.frontend(alice), 413, CodeBodyTooLarge},
		{"name over 5000 characters", "GET", "/v1/apps/secrets/find", form("name", strings.Repeat("n", 5001), "scope[type]", "user"), h.frontend(alice), 400, CodeParameterInvalid},
		{"not found", "GET", "/v1/apps/secrets/find", form("name", "missing", "scope[type]", "user"), h.frontend(alice), 404, CodeResourceMissing},
		{"unknown path", "GET", "/v1/apps/other", nil, h.frontend(alice), 404, CodeUnrecognizedURL},
		{"GET on delete", "GET", "/v1/apps/secrets/delete", form("name", "n", "scope[type]", "user"), h.frontend(alice), 404, CodeUnrecognizedURL},
		{"DELETE on the collection", "DELETE", "/v1/apps/secrets", nil, h.frontend(alice), 404, CodeUnrecognizedURL},
		{"unknown app", "GET", "/v1/apps/secrets", form("scope[type]", "user"), withHeader(h.frontend(alice), HeaderStripeApp, "nope"), 400, CodeUnknownStripeApp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.do(tt.method, tt.path, tt.form, tt.hdr).apiError(t, tt.status, tt.code)
		})
	}
	if n, _ := h.store.CountAppSecrets(t.Context(), scopeOf(alice), h.clock.Now()); n != 0 {
		t.Errorf("refused requests stored %d secrets", n)
	}
}

// An app without spec.appKey serves only its frontend.
func TestAppWithoutKey(t *testing.T) {
	cfg := oneApp()
	cfg.StripeApps[0].AppKey = ""
	h := newHarness(t, cfg)
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(testAppKey, "acct_1")).apiError(t, 401, CodeAppKeyNotConfigured)
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), h.frontend(alice)).ok(t)
}

// With several StripeApps the request names its app; each app's secrets
// are its own, verified with its own signing secret and key.
func TestSeveralApps(t *testing.T) {
	cfg := oneApp()
	cfg.StripeApps = append(cfg.StripeApps, model.StripeApp{Name: "other-app", SigningSecrets: []string{"absec_other"}, AppKey: otherKey})
	h := newHarness(t, cfg)
	mine := withApp(h.frontend(alice), "my-app")
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "user"), h.frontend(alice)).apiError(t, 400, CodeStripeAppRequired)
	h.do("POST", "/v1/apps/secrets", form("name", "k", "payload", "mine", "scope[type]", "account"), mine).ok(t)
	// my-app's signature does not verify as other-app's.
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), withApp(h.frontend(alice), "other-app")).apiError(t, 401, string(stripesig.CodeSignatureInvalid))
	h.do("GET", "/v1/apps/secrets/find", form("name", "k", "scope[type]", "account"), withApp(backend(otherKey, "acct_1"), "other-app")).apiError(t, 404, CodeResourceMissing)
	h.do("GET", "/v1/apps/secrets/find", form("name", "k", "scope[type]", "account"), withApp(backend(otherKey, "acct_1"), "my-app")).apiError(t, 401, CodeAppKeyInvalid)
	h.do("GET", "/v1/apps/secrets/find", form("name", "k", "scope[type]", "account"), withApp(backend(testAppKey, "acct_1"), "my-app")).ok(t)
}

func withApp(hdr http.Header, app string) http.Header {
	out := hdr.Clone()
	out.Set(HeaderStripeApp, app)
	return out
}

// Update swaps keys and secrets: the old key stops working at once.
func TestUpdateRotatesKeys(t *testing.T) {
	h := newHarness(t, oneApp())
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(testAppKey, "acct_1")).ok(t)
	cfg := oneApp()
	cfg.StripeApps[0].AppKey = otherKey
	if err := h.srv.Update(cfg); err != nil {
		t.Fatal(err)
	}
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(testAppKey, "acct_1")).apiError(t, 401, CodeAppKeyInvalid)
	h.do("GET", "/v1/apps/secrets", form("scope[type]", "account"), backend(otherKey, "acct_1")).ok(t)
}

// Authenticate is the entry point other Atlas endpoints (the OAuth broker)
// share; it reports the verified caller.
func TestAuthenticate(t *testing.T) {
	h := newHarness(t, oneApp())
	req := httptest.NewRequest("GET", "/v1/oauth/github/status", nil)
	for k, v := range h.frontend(alice) {
		req.Header[k] = v
	}
	c, apiErr := h.srv.Authenticate(req, nil)
	if apiErr != nil || c != (Caller{App: "my-app", Account: "acct_1", User: "usr_alice"}) {
		t.Errorf("frontend: %+v, %v", c, apiErr)
	}
	req = httptest.NewRequest("GET", "/v1/oauth/github/status", nil)
	for k, v := range backend(testAppKey, "acct_9") {
		req.Header[k] = v
	}
	c, apiErr = h.srv.Authenticate(req, nil)
	if apiErr != nil || c != (Caller{App: "my-app", Account: "acct_9", Backend: true}) {
		t.Errorf("backend: %+v, %v", c, apiErr)
	}
	req.Header.Set("Authorization", "Basic "+basic(testAppKey))
	if c, apiErr = h.srv.Authenticate(req, nil); apiErr != nil || !c.Backend {
		t.Errorf("Basic: %+v, %v", c, apiErr)
	}
	if _, apiErr = h.srv.Authenticate(req, make([]byte, 4097)); apiErr == nil || apiErr.Status != 413 {
		t.Errorf("a body over maxBodyBytes: %v", apiErr)
	}
}

// Mounted handlers share the request id and no-store wrapping.
func TestHandleMounts(t *testing.T) {
	h := newHarness(t, oneApp())
	h.srv.Handle("/v1/oauth/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.srv.Logger(r).Info("mounted")
		writeJSON(w, 200, map[string]string{"path": r.URL.Path})
	}))
	r := h.send(httptest.NewRequest("GET", "/v1/oauth/github/login", nil)).ok(t)
	if r.json["path"] != "/v1/oauth/github/login" {
		t.Errorf("mounted handler: %s", r.body)
	}
	if !strings.Contains(h.logs.String(), "request_id=req_") {
		t.Errorf("the mounted handler's log has no request id:\n%s", h.logs.String())
	}
}

// Stripe's 5000-character limits on name and payload.
func TestLengthLimits(t *testing.T) {
	cfg := oneApp()
	cfg.StripeApps[0].MaxBodyBytes = 1 << 20
	h := newHarness(t, cfg)
	h.do("POST", "/v1/apps/secrets", form("name", "n", "payload", strings.Repeat("é", 5000), "scope[type]", "user"), h.frontend(alice)).ok(t)
	h.do("POST", "/v1/apps/secrets", form("name", "n", "payload", strings.Repeat("é", 5001), "scope[type]", "user"), h.frontend(alice)).apiError(t, 400, CodeParameterInvalid)
	h.do("POST", "/v1/apps/secrets", form("name", strings.Repeat("n", 5001), "payload", "v", "scope[type]", "user"), h.frontend(alice)).apiError(t, 400, CodeParameterInvalid)
	h.do("POST", "/v1/apps/secrets", form("name", "a\x00b", "payload", "v", "scope[type]", "user"), h.frontend(alice)).apiError(t, 400, CodeParameterInvalid)
}

func scopeOf(u user) store.AppSecretScope {
	return store.AppSecretScope{App: "my-app", Account: u.account, Type: store.ScopeUser, User: u.id}
}

func basic(key string) string { return base64.StdEncoding.EncodeToString([]byte(key + ":")) }

// AuthenticateApp verifies against the named app alone, whatever the
// Atlas-Stripe-App header says.
func TestAuthenticateApp(t *testing.T) {
	cfg := oneApp()
	cfg.StripeApps = append(cfg.StripeApps, model.StripeApp{Name: "other-app", SigningSecrets: []string{"absec_other"}})
	h := newHarness(t, cfg)
	req := httptest.NewRequest("GET", "/v1/oauth/github/status", nil)
	for k, v := range withApp(h.frontend(alice), "other-app") {
		req.Header[k] = v
	}
	c, apiErr := h.srv.AuthenticateApp(req, nil, "my-app")
	if apiErr != nil || c.App != "my-app" || c.User != alice.id {
		t.Errorf("AuthenticateApp(my-app) = %+v, %v", c, apiErr)
	}
	if _, apiErr := h.srv.AuthenticateApp(req, nil, "other-app"); apiErr == nil || apiErr.Code != string(stripesig.CodeSignatureInvalid) {
		t.Errorf("my-app's signature verified as other-app's: %v", apiErr)
	}
	if _, apiErr := h.srv.AuthenticateApp(req, nil, "gone"); apiErr == nil || apiErr.Status != 404 {
		t.Errorf("unknown app: %v", apiErr)
	}
}
