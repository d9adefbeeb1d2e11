package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Adapters without spec.stripeApp pay nothing for signatures: in the default
// static injection mode their requests make no ext_proc or ext_authz call,
// while each signed request makes exactly one.
func TestUnsignedAdaptersPayNothing(t *testing.T) {
	const n = 25
	user := `{"user_id":"usr_cost","account_id":"acct_cost"}`
	// The counter that moves once per call to the selected filter.
	perCall := map[string]string{
		"extproc":  "http.atlas_ingress.ext_proc.atlas.streams_started",
		"extauthz": "http.atlas_ingress.ext_authz.atlas.ok",
	}
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			a := startSigned(t, up, filter, "STRIPE_APP_SECRET")

			before := filterStats(t, a)
			if _, ok := before[perCall[filter]]; !ok {
				t.Fatalf("Envoy has no %s counter; stats:\n%v", perCall[filter], before)
			}
			for i := range n {
				r := want200(t, a, up, "GET", "/v1/apis/http/plain/x/"+strconv.Itoa(i), "")
				if got := r.Header.Get("Authorization"); got != "Bearer plain-key" {
					t.Fatalf("plain adapter: Authorization %q", got)
				}
			}
			// Also a plain request dressed as a signed one.
			want200(t, a, up, "POST", "/v1/apis/http/plain/x", user, "Stripe-Signature", signAt(user, appSecret, time.Now()), "Stripe-User", user)
			after := filterStats(t, a)
			for k, v := range after {
				if before[k] != v {
					t.Errorf("%d unsigned requests moved %s from %d to %d", n+1, k, before[k], v)
				}
			}

			for i := range n {
				want200(t, a, up, "GET", "/v1/apis/http/stripe/v1/customers/"+strconv.Itoa(i), "", "Stripe-Signature", signAt(user, appSecret, time.Now()), "Stripe-User", user)
			}
			signed := filterStats(t, a)
			if got := signed[perCall[filter]] - after[perCall[filter]]; got != n {
				t.Errorf("%d signed requests moved %s by %d, want %d", n, perCall[filter], got, n)
			}
		})
	}
	// Control: the counter does move for unsigned adapters when they are
	// meant to use ext_proc (--injection extproc), so the zero above is
	// not a counter that never moves.
	t.Run("control: --injection extproc", func(t *testing.T) {
		up := startRecorder(t)
		a := startAtlas(t, sigConfig(up.port(), "STRIPE_APP_SECRET"), sigEnv(), "--injection", "extproc")
		a.waitStatus("/v1/apis/http/plain/ready", 200)
		before := filterStats(t, a)[perCall["extproc"]]
		for range n {
			want200(t, a, up, "GET", "/v1/apis/http/plain/x", "")
		}
		if got := filterStats(t, a)[perCall["extproc"]] - before; got != n {
			t.Errorf("%d plain requests with --injection extproc moved streams_started by %d, want %d", n, got, n)
		}
	})
}

// filterStats reads Envoy's ext_proc and ext_authz counters.
func filterStats(t *testing.T, a *atlas) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	page := a.envoyAdminGet("/stats?filter=ext_proc%7Cext_authz")
	for _, line := range strings.Split(strings.TrimSpace(page), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("stats line %q", line)
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	if len(out) == 0 {
		t.Fatalf("Envoy reported no ext_proc/ext_authz stats:\n%s", page)
	}
	return out
}
