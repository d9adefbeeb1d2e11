package e2e

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every bad input gets the exact 401 (or 413) Stripe-shaped error naming the
// failed check, reveals no secret and no expected signature, and none of
// them reaches an upstream.
func TestSignatureBadInputs(t *testing.T) {
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			a := startSigned(t, up, filter, "STRIPE_APP_SECRET")

			// Controls: the setup accepts good requests of every form, so
			// each refusal below is down to the one thing the case breaks.
			now := time.Now()
			want200(t, a, up, "GET", "/v1/apis/http/stripe/v1/customers", "", "Stripe-Signature", signAt(badUser, appSecret, now), "Stripe-User", badUser)
			want200(t, a, up, "GET", "/v1/apis/http/backend/foo", "", "Stripe-Signature", signAt(badUser, appSecret, now), "Stripe-User-Id", "usr_bad", "Stripe-Account-Id", "acct_bad")
			want200(t, a, up, "POST", "/v1/apis/http/stripe/v1/customers", badBody, "Stripe-Signature", signAt(badBody, appSecret, now), "Stripe-Account", "acct_bad")
			want200(t, a, up, "GET", "/v1/apis/http/other/foo", "", "Stripe-Signature", signAt(badUser, otherAppSecret, now), "Stripe-User", badUser)

			cases := badInputs(now)
			if len(cases) < 45 {
				t.Fatalf("only %d bad inputs; issue #3 asks for at least 40, this test for 45", len(cases))
			}
			before := len(up.requests())
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) { runBadCase(t, a, i, c, now) })
			}

			// Checked after the whole table: nothing arrived, by count and
			// by marker (every bad request carries its case number).
			got := up.requests()
			if len(got) != before {
				t.Errorf("upstream saw %d requests during the bad-input table, want 0", len(got)-before)
			}
			for _, r := range got {
				if strings.Contains(r.Path, "/bad-") || r.Header.Get("X-E2e-Bad-Case") != "" {
					t.Errorf("bad input reached the upstream: %s %s case %q", r.Method, r.Path, r.Header.Get("X-E2e-Bad-Case"))
				}
			}
		})
	}
}

func runBadCase(t *testing.T, a *atlas, i int, c badCase, now time.Time) {
	method, adapter, status, code := c.method, c.adapter, c.status, c.code
	if method == "" {
		method = "GET"
	}
	if adapter == "" {
		adapter = "stripe"
	}
	if status == 0 {
		status = 401
	}
	if code == "-" {
		code = ""
	}
	path := fmt.Sprintf("/v1/apis/http/%s/v1/customers/bad-%02d", adapter, i)
	hdr := append([]string{"X-E2e-Bad-Case", strconv.Itoa(i)}, c.hdr...)
	var body io.Reader = strings.NewReader(c.body)
	if c.chunked {
		// A reader net/http cannot size leaves ContentLength 0 with a
		// non-nil Body, which it sends as Transfer-Encoding: chunked.
		body = io.MultiReader(strings.NewReader(c.body))
	}
	resp, rb, err := a.do(method, path, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	// The correct signatures for this case, which must not be echoed.
	var forbidden []string
	payloads := append([]string{badUser, badBody}, c.signed...)
	times := []time.Time{now.Add(-time.Second), now, now.Add(time.Second)}
	if !c.ts.IsZero() {
		times = append(times, c.ts)
	}
	for _, p := range payloads {
		for _, s := range []string{appSecret, appSecretPrev, otherAppSecret, wrongSecret} {
			for _, ts := range times {
				forbidden = append(forbidden, v1Hex(p, s, ts))
			}
		}
	}
	errType := "invalid_request_error"
	checkError(t, resp, rb, status, errType, code, forbidden...)
	if len(rb) > 4096 {
		t.Errorf("error body is %d bytes; it must not echo the request", len(rb))
	}
}
