package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

const (
	appSecret     = "absec_e2eCurrentSecret0123456789"
	appSecretPrev = "absec_e2ePreviousSecret987654321"
)

var signedEnv = map[string]string{"STRIPE_APP_SECRET": appSecret, "STRIPE_APP_SECRET_PREVIOUS": appSecretPrev, "STRIPE_API_KEY": stripeKey}

func signNow(payload, secret string) string {
	return stripesig.Sign([]byte(payload), []byte(secret), time.Now())
}

// Valid GET (stripe-user header and id headers) and POST (raw body) requests
// reach the upstream with the key injected, Stripe-Account set to the signed
// account, the identity headers set and no signature headers left.
func TestSignedRequestsForwarded(t *testing.T) {
	for _, filter := range []string{"extproc", "extauthz"} {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			a := startAtlas(t, signedConfig(up.port(), "STRIPE_APP_SECRET"), signedEnv, "--signature-filter", filter)
			a.waitStatus("/v1/apis/http/plain/ready", 200)

			user := `{"user_id":"usr_e2e","account_id":"acct_e2e"}`
			body := `{"name":"<b>&co","user_id":"usr_e2e","account_id":"acct_e2e"}`
			cases := []struct {
				name, method, path, body string
				hdr                      []string
				wantPath                 string
				onBehalf                 bool
			}{
				{"GET stripe-user", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user, "Authorization", "Bearer sk_live_forged"}, "/v1/customers", true},
				{"GET id headers", "GET", "/v1/apis/http/backend/foo", "", []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User-Id", "usr_e2e", "Stripe-Account-Id", "acct_e2e"}, "/backend/foo", false},
				{"POST body", "POST", "/v1/apis/http/backend/foo", body, []string{"Stripe-Signature", signNow(body, appSecret), "Content-Type", "application/json"}, "/backend/foo", false},
				{"POST body on behalf", "POST", "/v1/apis/http/stripe/v1/customers", body, []string{"Stripe-Signature", signNow(body, appSecret), "Content-Type", "application/json", "Stripe-Account", "acct_e2e"}, "/v1/customers", true},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := len(up.requests())
					resp, rb, err := a.do(c.method, c.path, strings.NewReader(c.body), c.hdr...)
					if err != nil || resp.StatusCode != 200 {
						t.Fatalf("status %v err %v body %s", resp.StatusCode, err, rb)
					}
					got := up.requests()[before:]
					if len(got) != 1 {
						t.Fatalf("upstream saw %d requests", len(got))
					}
					r := got[0]
					if r.Path != c.wantPath {
						t.Errorf("path %q, want %q", r.Path, c.wantPath)
					}
					for _, h := range []string{"Stripe-Signature", "Stripe-User", "Stripe-User-Id", "Stripe-Account-Id"} {
						if v := r.Header.Values(h); len(v) != 0 {
							t.Errorf("%s reached the upstream: %q", h, v)
						}
					}
					if got := r.Header.Get("Atlas-Verified-User-Id") + "/" + r.Header.Get("Atlas-Verified-Account-Id"); got != "usr_e2e/acct_e2e" {
						t.Errorf("identity headers %q", got)
					}
					if c.onBehalf {
						if v := r.Header.Values("Stripe-Account"); len(v) != 1 || v[0] != "acct_e2e" {
							t.Errorf("Stripe-Account = %q, want [acct_e2e]", v)
						}
						if v := r.Header.Get("Authorization"); v != "Bearer "+stripeKey {
							t.Errorf("Authorization = %q", v)
						}
					} else if v := r.Header.Get("X-Backend-Key"); v != "backend-key-e2e" {
						t.Errorf("X-Backend-Key = %q", v)
					}
				})
			}
			// Unsigned adapters never let a client claim an identity.
			before := len(up.requests())
			if resp, _, err := a.do("GET", "/v1/apis/http/plain/x", nil, "Atlas-Verified-User-Id", "usr_forged", "Atlas-Verified-Account-Id", "acct_forged"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("plain adapter: %v %v", resp.StatusCode, err)
			}
			if r := up.requests()[before]; r.Header.Get("Atlas-Verified-User-Id") != "" || r.Header.Get("Atlas-Verified-Account-Id") != "" {
				t.Errorf("forged identity headers reached an unsigned adapter's upstream: %v", r.Header)
			}
		})
	}
}
