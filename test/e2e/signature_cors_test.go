package e2e

import (
	"strings"
	"testing"
	"time"
)

// Stripe App UI extensions run in sandboxed iframes (Origin: null): Envoy
// answers their preflight itself, and every answer on a signed route, a 401
// included, lets the browser read it.
func TestSignatureCORSPreflight(t *testing.T) {
	user := `{"user_id":"usr_cors","account_id":"acct_cors"}`
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			a := startSigned(t, up, filter, "STRIPE_APP_SECRET")
			before := len(up.requests())

			for _, path := range []string{"/v1/apis/http/stripe/v1/customers", "/v1/apis/http/backend/foo"} {
				resp, body := mustDo(t, a, "OPTIONS", path, nil,
					"Origin", "null",
					"Access-Control-Request-Method", "POST",
					"Access-Control-Request-Headers", "stripe-signature, stripe-user, content-type")
				if resp.StatusCode != 200 {
					t.Errorf("preflight %s: status %d, want 200; body %s", path, resp.StatusCode, body)
				}
				if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "null" {
					t.Errorf("preflight %s: Access-Control-Allow-Origin %q, want [null]", path, got)
				}
				allowed := listSet(resp.Header.Values("Access-Control-Allow-Headers"))
				for _, h := range []string{"stripe-signature", "stripe-user", "content-type"} {
					if !allowed[h] {
						t.Errorf("preflight %s: Access-Control-Allow-Headers %q lacks %s", path, resp.Header.Values("Access-Control-Allow-Headers"), h)
					}
				}
				if m := listSet(resp.Header.Values("Access-Control-Allow-Methods")); !m["post"] || !m["get"] {
					t.Errorf("preflight %s: Access-Control-Allow-Methods %q lacks GET or POST", path, resp.Header.Values("Access-Control-Allow-Methods"))
				}
				// Envoy's CORS filter answers, not the upstream.
				if strings.Contains(body, `"path"`) {
					t.Errorf("preflight %s was answered by the upstream: %s", path, body)
				}
			}
			// Another origin gets no grant: Envoy's CORS filter does not
			// treat it as a preflight, so it meets the verifier (401) and
			// is not forwarded either.
			resp, body := mustDo(t, a, "OPTIONS", "/v1/apis/http/stripe/v1/customers", nil,
				"Origin", "https://evil.example",
				"Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "stripe-signature")
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight from https://evil.example: Access-Control-Allow-Origin %q", got)
			}
			checkError(t, resp, body, 401, "invalid_request_error", "signature_missing")
			if n := len(up.requests()) - before; n != 0 {
				t.Fatalf("upstream saw %d preflight requests, want 0", n)
			}

			// A signed GET from the iframe: 200, readable by the browser.
			r := want200(t, a, up, "GET", "/v1/apis/http/stripe/v1/customers", "",
				"Origin", "null", "Stripe-Signature", signAt(user, appSecret, time.Now()), "Stripe-User", user)
			checkIdentity(t, r, "usr_cors", "acct_cors", true)
			resp, body = mustDo(t, a, "GET", "/v1/apis/http/stripe/v1/customers", nil,
				"Origin", "null", "Stripe-Signature", signAt(user, appSecret, time.Now()), "Stripe-User", user)
			if got := resp.Header.Values("Access-Control-Allow-Origin"); resp.StatusCode != 200 || len(got) != 1 || got[0] != "null" {
				t.Errorf("signed GET: status %d, Access-Control-Allow-Origin %q, want 200 and [null]; body %s", resp.StatusCode, got, body)
			}

			// Refusals carry the grant too, so the app can show the error.
			before = len(up.requests())
			for _, c := range []struct {
				name, method, body, code string
				hdr                      []string
			}{
				{"unsigned GET", "GET", "", "signature_missing", []string{"Stripe-User", user}},
				{"GET, wrong secret", "GET", "", "signature_invalid", []string{"Stripe-User", user, "Stripe-Signature", signAt(user, wrongSecret, time.Now())}},
				{"POST, body altered", "POST", user + " ", "signature_invalid", []string{"Stripe-Signature", signAt(user, appSecret, time.Now())}},
			} {
				resp, body := mustDo(t, a, c.method, "/v1/apis/http/stripe/v1/customers", strings.NewReader(c.body), append([]string{"Origin", "null"}, c.hdr...)...)
				checkError(t, resp, body, 401, "invalid_request_error", c.code)
				if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "null" {
					t.Errorf("%s: 401 with Access-Control-Allow-Origin %q, want [null]", c.name, got)
				}
			}
			if n := len(up.requests()) - before; n != 0 {
				t.Errorf("upstream saw %d refused requests", n)
			}
		})
	}
}

// listSet splits comma-separated header values into a lowercase set.
func listSet(values []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			out[strings.ToLower(strings.TrimSpace(f))] = true
		}
	}
	return out
}
