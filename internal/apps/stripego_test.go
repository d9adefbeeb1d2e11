package apps

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v83"
	appsecret "github.com/stripe/stripe-go/v83/apps/secret"
)

// stripeBackend is stripe-go's API backend pointed at url, without retries
// or logging.
func stripeBackend(url string) stripe.Backend {
	return stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(url),
		HTTPClient:        &http.Client{Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
}

// The real stripe-go Secret Store client, used as an app's backend does:
// its key is the StripeApp's appKey and it acts for an account through
// Stripe-Account.
func TestStripeGoClient(t *testing.T) {
	h := newHarness(t, oneApp())
	srv := httptest.NewServer(h.srv.Handler())
	t.Cleanup(srv.Close)
	b := stripeBackend(srv.URL)
	sc := stripe.NewClient(testAppKey, stripe.WithBackends(&stripe.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
	ctx := t.Context()
	expires := time.Now().Add(time.Hour).Unix()

	create := &stripe.AppsSecretCreateParams{
		Name:      stripe.String("github_token"),
		Payload:   stripe.String("s3cr3t-payload"),
		Scope:     &stripe.AppsSecretCreateScopeParams{Type: stripe.String("user"), User: stripe.String("usr_alice")},
		ExpiresAt: stripe.Int64(expires),
	}
	create.SetStripeAccount("acct_1")
	created, err := sc.V1AppsSecrets.Create(ctx, create)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.Object != "apps.secret" || created.Name != "github_token" || created.Payload != "" || created.ExpiresAt != expires ||
		created.Scope == nil || created.Scope.Type != stripe.AppsSecretScopeTypeUser || created.Scope.User != "usr_alice" {
		t.Errorf("Create = %+v", created)
	}

	find := &stripe.AppsSecretFindParams{
		Name:  stripe.String("github_token"),
		Scope: &stripe.AppsSecretFindScopeParams{Type: stripe.String("user"), User: stripe.String("usr_alice")},
	}
	find.SetStripeAccount("acct_1")
	find.AddExpand("payload")
	found, err := sc.V1AppsSecrets.Find(ctx, find)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if found.ID != created.ID || found.Payload != "s3cr3t-payload" {
		t.Errorf("Find = %+v", found)
	}
	// The frontend of that user reads what the backend stored.
	h.do("GET", "/v1/apps/secrets/find", form("name", "github_token", "scope[type]", "user"), h.frontend(alice)).ok(t)

	account := &stripe.AppsSecretCreateParams{
		Name: stripe.String("api_key"), Payload: stripe.String("v"),
		Scope: &stripe.AppsSecretCreateScopeParams{Type: stripe.String("account")},
	}
	account.SetStripeAccount("acct_1")
	if _, err := sc.V1AppsSecrets.Create(ctx, account); err != nil {
		t.Fatalf("Create account-scoped: %v", err)
	}

	list := &stripe.AppsSecretListParams{Scope: &stripe.AppsSecretListScopeParams{Type: stripe.String("user"), User: stripe.String("usr_alice")}}
	list.SetStripeAccount("acct_1")
	list.AddExpand("data.payload")
	var listed []*stripe.AppsSecret
	for s, err := range sc.V1AppsSecrets.List(ctx, list) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		listed = append(listed, s)
	}
	if len(listed) != 1 || listed[0].ID != created.ID || listed[0].Payload != "s3cr3t-payload" {
		t.Errorf("List = %+v", listed)
	}

	del := &stripe.AppsSecretDeleteWhereParams{
		Name:  stripe.String("github_token"),
		Scope: &stripe.AppsSecretDeleteWhereScopeParams{Type: stripe.String("user"), User: stripe.String("usr_alice")},
	}
	del.SetStripeAccount("acct_1")
	deleted, err := sc.V1AppsSecrets.DeleteWhere(ctx, del)
	if err != nil {
		t.Fatalf("DeleteWhere: %v", err)
	}
	if !deleted.Deleted || deleted.ID != created.ID {
		t.Errorf("DeleteWhere = %+v", deleted)
	}

	// Errors reach stripe-go as *stripe.Error, like Stripe's own.
	_, err = sc.V1AppsSecrets.Find(ctx, find)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCode(CodeResourceMissing) || se.Type != stripe.ErrorTypeInvalidRequest || se.RequestID == "" {
		t.Errorf("Find after delete: %#v", err)
	}
	bad := stripe.NewClient(otherKey, stripe.WithBackends(&stripe.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
	_, err = bad.V1AppsSecrets.Find(ctx, find)
	if !errors.As(err, &se) || se.HTTPStatusCode != 401 || se.Code != stripe.ErrorCode(CodeAppKeyInvalid) {
		t.Errorf("Find with the wrong key: %#v", err)
	}
}

// The older package-level client (stripe-go's apps/secret) speaks the same
// wire format.
func TestStripeGoAppsSecretPackage(t *testing.T) {
	h := newHarness(t, oneApp())
	srv := httptest.NewServer(h.srv.Handler())
	t.Cleanup(srv.Close)
	c := appsecret.Client{B: stripeBackend(srv.URL), Key: testAppKey}

	p := &stripe.AppsSecretParams{Name: stripe.String("k"), Payload: stripe.String("v1"), Scope: &stripe.AppsSecretScopeParams{Type: stripe.String("account")}}
	p.SetStripeAccount("acct_1")
	p.AddExpand("payload")
	s, err := c.New(p)
	if err != nil || s.Payload != "v1" {
		t.Fatalf("New = %+v, %v", s, err)
	}
	fp := &stripe.AppsSecretFindParams{Name: stripe.String("k"), Scope: &stripe.AppsSecretFindScopeParams{Type: stripe.String("account")}}
	fp.SetStripeAccount("acct_1")
	if got, err := c.Find(fp); err != nil || got.ID != s.ID || got.Payload != "" {
		t.Errorf("Find = %+v, %v", got, err)
	}
	lp := &stripe.AppsSecretListParams{Scope: &stripe.AppsSecretListScopeParams{Type: stripe.String("account")}}
	lp.SetStripeAccount("acct_1")
	it := c.List(lp)
	n := 0
	for it.Next() {
		if it.AppsSecret().ID != s.ID {
			t.Errorf("listed %+v", it.AppsSecret())
		}
		n++
	}
	if it.Err() != nil || n != 1 {
		t.Errorf("List: %d, %v", n, it.Err())
	}
	dp := &stripe.AppsSecretDeleteWhereParams{Name: stripe.String("k"), Scope: &stripe.AppsSecretDeleteWhereScopeParams{Type: stripe.String("account")}}
	dp.SetStripeAccount("acct_1")
	if d, err := c.DeleteWhere(dp); err != nil || !d.Deleted {
		t.Errorf("DeleteWhere = %+v, %v", d, err)
	}
}
