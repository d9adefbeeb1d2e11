package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	stripe "github.com/stripe/stripe-go/v83"
)

const stripeKey = "sk_test_e2eInjectedKey4242"

// (a) stripe-go, pointed at the gateway with no real key of its own, lists
// charges and creates a customer in stripe-mock, which answers 401 to any
// request without an sk_test_ key; (b) a forged live key is replaced.
func TestStripeGoThroughGateway(t *testing.T) {
	mock := startStripeMock(t)
	for _, mode := range injectionModes {
		t.Run(mode, func(t *testing.T) {
			a := startAtlas(t, atlasConfig(adapter{
				name: "stripe", baseURL: fmt.Sprintf("http://127.0.0.1:%d", mock),
				headers: [][2]string{{"Authorization", "Bearer ${{ STRIPE_API_KEY }}"}},
			}), map[string]string{"STRIPE_API_KEY": stripeKey}, "--injection", mode)
			a.waitStatus("/v1/apis/http/stripe/v1/charges", 200)

			backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
				URL:               stripe.String(a.url("/v1/apis/http/stripe")),
				MaxNetworkRetries: stripe.Int64(0),
				LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
			})
			sc := stripe.NewClient("sk_live_forged_by_client", stripe.WithBackends(&stripe.Backends{API: backend, Connect: backend, Uploads: backend}))
			n := 0
			for ch, err := range sc.V1Charges.List(t.Context(), &stripe.ChargeListParams{}) {
				if err != nil {
					t.Fatalf("listing charges through the gateway: %v", err)
				}
				if !strings.HasPrefix(ch.ID, "ch_") {
					t.Fatalf("charge id %q", ch.ID)
				}
				n++
			}
			if n == 0 {
				t.Fatal("stripe-mock listed no charges")
			}
			cus, err := sc.V1Customers.Create(t.Context(), &stripe.CustomerCreateParams{Email: stripe.String("e2e@example.com")})
			if err != nil {
				t.Fatalf("creating a customer through the gateway: %v", err)
			}
			if !strings.HasPrefix(cus.ID, "cus_") {
				t.Fatalf("customer id %q", cus.ID)
			}

			// (b) the raw forged header, as curl would send it.
			resp, body, err := a.do("GET", "/v1/apis/http/stripe/v1/customers", nil, "Authorization", "Bearer sk_live_forged")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("forged key: status %v err %v body %s", resp.StatusCode, err, body)
			}
		})
	}
}

// (b) in detail: the upstream sees exactly the configured headers, once
// each, whatever the client sent; host and path are rewritten.
func TestInjectedHeadersReplaceClientCopies(t *testing.T) {
	up := startRecorder(t)
	for _, mode := range injectionModes {
		t.Run(mode, func(t *testing.T) {
			a := startAtlas(t, atlasConfig(adapter{
				name: "datadog", baseURL: fmt.Sprintf("http://localhost:%d/api", up.port()),
				headers: [][2]string{{"DD-API-KEY", "${{ DD_API_KEY }}"}, {"DD-APPLICATION-KEY", "${{ DD_APP_KEY }}"}, {"Authorization", "Token token=${{ DD_API_KEY }}"}},
			}), map[string]string{"DD_API_KEY": "dd-api-e2e-111", "DD_APP_KEY": "dd-app-e2e-222"}, "--injection", mode)
			a.waitStatus("/v1/apis/http/datadog/v1/validate", 200)
			before := len(up.requests())
			resp, body, err := a.do("GET", "/v1/apis/http/datadog/v1/metrics?from=1&to=2", nil,
				"DD-API-KEY", "forged-1", "dd-api-key", "forged-2", "Authorization", "Bearer sk_live_forged", "DD-APPLICATION-KEY", "forged-3")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %v err %v body %s", resp.StatusCode, err, body)
			}
			reqs := up.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			for k, want := range map[string]string{"Dd-Api-Key": "dd-api-e2e-111", "Dd-Application-Key": "dd-app-e2e-222", "Authorization": "Token token=dd-api-e2e-111"} {
				if v := got.Header.Values(k); len(v) != 1 || v[0] != want {
					t.Errorf("upstream %s = %q, want exactly [%q]", k, v, want)
				}
			}
			if got.Path != "/api/v1/metrics" {
				t.Errorf("upstream path %q, want /api/v1/metrics", got.Path)
			}
			if want := fmt.Sprintf("localhost:%d", up.port()); got.Host != want {
				t.Errorf("upstream Host %q, want %q", got.Host, want)
			}
		})
	}
}

// (e) an unknown adapter, or any path outside /v1/apis/http/{adapter}/, is a
// 404 with a Stripe-shaped JSON body.
func TestUnknownAdapterIs404JSON(t *testing.T) {
	up := startRecorder(t)
	a := startAtlas(t, atlasConfig(adapter{name: "known", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()),
		headers: [][2]string{{"Authorization", "Bearer sk_test_known"}}}), nil)
	a.waitStatus("/v1/apis/http/known/x", 200)
	for _, path := range []string{"/v1/apis/http/nope/v1/charges", "/v1/apis/http/", "/", "/v1/charges", "/v1/apis/http/knownx/y"} {
		resp, body, err := a.do("GET", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: status %d content-type %q, want 404 application/json", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var e struct {
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, "/v1/apis/http/") {
			t.Errorf("%s: body %s is not a Stripe-shaped invalid_request_error", path, body)
		}
	}
	if n := len(up.requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want only the readiness probe", n)
	}
}
