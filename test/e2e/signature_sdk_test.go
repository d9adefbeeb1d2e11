package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v83/webhook"

	"github.com/atlas-gateway/atlas/internal/stripenode"
)

// nodeFixture holds the pinned stripe-node and oracle.js.
const nodeFixture = "../fixtures/stripe-node"

type (
	nodeOp  = stripenode.Case
	nodeOut = stripenode.Result
)

// runStripeNode runs the fixture's oracle.js (the real stripe-node SDK).
func runStripeNode(t *testing.T, ops []nodeOp) []nodeOut {
	t.Helper()
	return stripenode.Run(t, nodeFixture, ops)
}

// Headers made by the real SDKs pass the gateway: stripe-go's
// GenerateTestSignedPayload and stripe-node's generateTestHeaderString, for
// a GET (stripe-user, and the id headers) and a POST (the body).
func TestSignatureRealSDKs(t *testing.T) {
	now := time.Now()
	goUser := `{"user_id":"usr_go","account_id":"acct_go"}`
	goBody := `{"amount":"1000","note":"<b>&é","user_id":"usr_gopost","account_id":"acct_gopost"}`
	nodeBody := `{"amount":"2000","note":"<i>&ü","user_id":"usr_nodepost","account_id":"acct_nodepost"}`
	goSign := func(p, secret string) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(p), Secret: secret, Timestamp: now}).Header
	}

	// The GET payload is what a Stripe App signs: JSON.stringify's output.
	res := runStripeNode(t, []nodeOp{
		{Op: "stringify", UserID: "usr_node", AccountID: "acct_node"},
		{Op: "generate", Payload: nodeBody, Secret: appSecret, Timestamp: now.Unix()},
		{Op: "generate", Payload: nodeBody, Secret: wrongSecret, Timestamp: now.Unix()},
	})
	nodeUser := res[0].JSON
	if nodeUser != `{"user_id":"usr_node","account_id":"acct_node"}` {
		t.Fatalf("JSON.stringify gave %q", nodeUser)
	}
	res2 := runStripeNode(t, []nodeOp{
		{Op: "generate", Payload: nodeUser, Secret: appSecret, Timestamp: now.Unix()},
		{Op: "generate", Payload: nodeUser, Secret: wrongSecret, Timestamp: now.Unix()},
	})
	nodeUserSig, nodeUserWrong, nodeBodySig, nodeBodyWrong := res2[0].Header, res2[1].Header, res[1].Header, res[2].Header
	for _, h := range []string{goSign(goUser, appSecret), nodeUserSig, nodeBodySig} {
		if !strings.HasPrefix(h, "t=") || !strings.Contains(h, ",v1=") {
			t.Fatalf("an SDK made %q, not a Stripe-Signature header", h)
		}
	}

	type sdkCase struct {
		name, method, path, body string
		hdr                      []string
		user, account, wantPath  string
		onBehalf                 bool
	}
	cases := []sdkCase{
		{"stripe-go GET stripe-user", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-Signature", goSign(goUser, appSecret), "Stripe-User", goUser}, "usr_go", "acct_go", "/v1/customers", true},
		{"stripe-go GET id headers", "GET", "/v1/apis/http/backend/foo", "", []string{"Stripe-Signature", goSign(goUser, appSecret), "Stripe-User-Id", "usr_go", "Stripe-Account-Id", "acct_go"}, "usr_go", "acct_go", "/backend/foo", false},
		{"stripe-go POST body", "POST", "/v1/apis/http/stripe/v1/customers", goBody, []string{"Stripe-Signature", goSign(goBody, appSecret), "Content-Type", "application/json"}, "usr_gopost", "acct_gopost", "/v1/customers", true},
		{"stripe-node GET stripe-user", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-Signature", nodeUserSig, "Stripe-User", nodeUser}, "usr_node", "acct_node", "/v1/customers", true},
		{"stripe-node GET id headers", "GET", "/v1/apis/http/backend/foo", "", []string{"Stripe-Signature", nodeUserSig, "Stripe-User-Id", "usr_node", "Stripe-Account-Id", "acct_node"}, "usr_node", "acct_node", "/backend/foo", false},
		{"stripe-node POST body", "POST", "/v1/apis/http/backend/foo", nodeBody, []string{"Stripe-Signature", nodeBodySig, "Content-Type", "application/json"}, "usr_nodepost", "acct_nodepost", "/backend/foo", false},
	}
	// The same SDKs with a secret the gateway does not hold: refused, so
	// the 200s above are the gateway checking, not waving through.
	refused := []struct {
		name, method, body string
		hdr                []string
	}{
		{"stripe-go wrong secret", "GET", "", []string{"Stripe-Signature", goSign(goUser, wrongSecret), "Stripe-User", goUser}},
		{"stripe-go POST wrong secret", "POST", goBody, []string{"Stripe-Signature", goSign(goBody, wrongSecret)}},
		{"stripe-node wrong secret", "GET", "", []string{"Stripe-Signature", nodeUserWrong, "Stripe-User", nodeUser}},
		{"stripe-node POST wrong secret", "POST", nodeBody, []string{"Stripe-Signature", nodeBodyWrong}},
	}

	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startBodyRecorder(t)
			a := startAtlas(t, sigConfig(up.port(), "STRIPE_APP_SECRET"), sigEnv(), "--signature-filter", filter)
			a.waitStatus("/v1/apis/http/plain/ready", 200)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					reqs, _ := up.snapshot()
					before := len(reqs)
					resp, rb := mustDo(t, a, c.method, c.path, strings.NewReader(c.body), c.hdr...)
					if resp.StatusCode != 200 {
						t.Fatalf("status %d, want 200; body %s", resp.StatusCode, rb)
					}
					reqs, bodies := up.snapshot()
					if len(reqs) != before+1 {
						t.Fatalf("upstream saw %d requests, want 1", len(reqs)-before)
					}
					r := reqs[before]
					if r.Method != c.method || r.Path != c.wantPath {
						t.Errorf("upstream got %s %s, want %s %s", r.Method, r.Path, c.method, c.wantPath)
					}
					if bodies[before] != c.body {
						t.Errorf("body changed on the way: got %q, want %q", bodies[before], c.body)
					}
					checkIdentity(t, r, c.user, c.account, c.onBehalf)
				})
			}
			for _, c := range refused {
				t.Run(c.name, func(t *testing.T) {
					reqs, _ := up.snapshot()
					resp, rb := mustDo(t, a, c.method, "/v1/apis/http/stripe/v1/customers", strings.NewReader(c.body), c.hdr...)
					checkError(t, resp, rb, 401, "invalid_request_error", "signature_invalid")
					if after, _ := up.snapshot(); len(after) != len(reqs) {
						t.Errorf("a refused request reached the upstream")
					}
				})
			}
		})
	}
}
