package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

const secret = "absec_verify_test_secret"

var now = time.Unix(1_800_000_000, 0)

func engine(t *testing.T, onBehalfOf bool) *Engine {
	t.Helper()
	e, err := New(&model.Config{
		StripeApps: []model.StripeApp{{Name: "app", SigningSecrets: []string{secret}, Tolerance: 300 * time.Second, MaxBodyBytes: 64}},
		Adapters: []model.Adapter{
			{Name: "stripe", Headers: []model.Header{{Name: "Authorization", Value: "Bearer sk_test_v"}}, StripeApp: &model.AdapterStripeApp{Name: "app", OnBehalfOf: onBehalfOf}},
			{Name: "plain", Headers: []model.Header{{Name: "Authorization", Value: "Bearer x"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sign(payload string) string { return stripesig.Sign([]byte(payload), []byte(secret), now) }

func header(d Decision, name string) (string, bool) {
	for _, h := range d.Set {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

func TestDecide(t *testing.T) {
	user := `{"user_id":"usr_1","account_id":"acct_1"}`
	body := `{"name":"x","user_id":"usr_1","account_id":"acct_1"}`
	tests := []struct {
		name       string
		onBehalfOf bool
		in         Input
		wantStatus int // 0 = allowed
		wantCode   string
		wantSet    map[string]string
	}{
		{"GET stripe-user header", true, Input{Adapter: "stripe", Method: "GET", Signature: sign(user), StripeUser: user}, 0, "",
			map[string]string{"Authorization": "Bearer sk_test_v", HeaderStripeAccount: "acct_1", HeaderVerifiedUser: "usr_1", HeaderVerifiedAccount: "acct_1", HeaderVerifiedApp: "app"}},
		{"GET id headers", false, Input{Adapter: "stripe", Method: "GET", Signature: sign(user), UserID: "usr_1", AccountID: "acct_1"}, 0, "",
			map[string]string{HeaderVerifiedAccount: "acct_1"}},
		{"POST body", true, Input{Adapter: "stripe", Method: "POST", Signature: sign(body), Body: []byte(body)}, 0, "",
			map[string]string{HeaderStripeAccount: "acct_1"}},
		{"client Stripe-Account equal to the signed one", true, Input{Adapter: "stripe", Method: "GET", Signature: sign(user), StripeUser: user, StripeAccount: "acct_1"}, 0, "", nil},
		{"forged Stripe-Account", true, Input{Adapter: "stripe", Method: "GET", Signature: sign(user), StripeUser: user, StripeAccount: "acct_other"}, 401, "identity_mismatch", nil},
		{"forged Stripe-Account without onBehalfOf", false, Input{Adapter: "stripe", Method: "GET", Signature: sign(user), StripeUser: user, StripeAccount: "acct_other"}, 401, "identity_mismatch", nil},
		{"no signature", true, Input{Adapter: "stripe", Method: "GET", StripeUser: user}, 401, "signature_missing", nil},
		{"body altered", true, Input{Adapter: "stripe", Method: "POST", Signature: sign(body), Body: []byte(strings.Replace(body, "x", "y", 1))}, 401, "signature_invalid", nil},
		{"body over the limit", true, Input{Adapter: "stripe", Method: "POST", Signature: sign(body), Body: []byte(strings.Repeat("a", 65))}, 413, CodeBodyTooLarge, nil},
		{"unknown adapter", true, Input{Adapter: "gone", Method: "GET"}, 404, CodeUnknownAdapter, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := engine(t, tc.onBehalfOf).Decide(tc.in, now)
			if tc.wantStatus == 0 {
				if !d.Allow {
					t.Fatalf("denied: %d %s %s", d.Status, d.Code, d.Message)
				}
				for k, v := range tc.wantSet {
					if got, ok := header(d, k); !ok || got != v {
						t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
					}
				}
				if _, ok := header(d, HeaderStripeAccount); ok != tc.onBehalfOf {
					t.Errorf("Stripe-Account set = %v, want %v (onBehalfOf)", ok, tc.onBehalfOf)
				}
				if strings.Join(d.Remove, ",") != strings.Join(SignatureHeaders, ",") {
					t.Errorf("Remove = %v", d.Remove)
				}
				return
			}
			if d.Allow || d.Status != tc.wantStatus || d.Code != tc.wantCode || d.Message == "" {
				t.Fatalf("got allow=%v %d %q %q, want %d %q", d.Allow, d.Status, d.Code, d.Message, tc.wantStatus, tc.wantCode)
			}
			if strings.Contains(d.Message, secret) {
				t.Fatal("message reveals the secret")
			}
		})
	}
}

func TestEngineKnowsSignedAdapters(t *testing.T) {
	e := engine(t, false)
	if !e.Signed("stripe") || e.Signed("plain") {
		t.Fatal("Signed() wrong")
	}
	if d := e.CheckLength("stripe", 65); d == nil || d.Status != 413 {
		t.Fatalf("CheckLength over the limit = %v", d)
	}
	if d := e.CheckLength("stripe", 64); d != nil {
		t.Fatalf("CheckLength at the limit = %v", d)
	}
	if _, err := New(&model.Config{Adapters: []model.Adapter{{Name: "a", StripeApp: &model.AdapterStripeApp{Name: "missing"}}}}); err == nil {
		t.Fatal("New accepted an adapter naming a missing StripeApp")
	}
}
