package config

import (
	"strings"
	"testing"
)

const apiFile = `apiVersion: moment.dev/atlas/v1alpha1
kind: Atlas
metadata: {name: t}
spec:
  apiAdapters:
  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: filed}
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: filed}
spec:
  baseUrl: https://api.example.com
  headers:
  - {name: Authorization, value: Bearer x}
---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: app}
spec:
  signingSecrets: [absec_api_test_secret]
`

func apiDocFor(name, extra string) APIAdapter {
	return APIAdapter{Name: name, Document: []byte(`apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: ` + name + `
spec:
  baseUrl: https://api.stripe.com
  headers:
  - name: Authorization
    value: Bearer ${{ secret:STRIPE_KEY }}
` + extra)}
}

func TestParseWithAPI(t *testing.T) {
	secrets := map[string]string{"STRIPE_KEY": "sk_test_from_store"}
	opts := Options{LookupEnv: func(string) (string, bool) { return "", false },
		LookupSecret: func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }}

	cfg, err := ParseWithAPI("atlas.yml", []byte(apiFile), []APIAdapter{apiDocFor("stripe", "  stripeApp: {name: app, onBehalfOf: true}\n")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := cfg.Adapter("stripe")
	if !ok || a.Headers[0].Value != "Bearer sk_test_from_store" || a.StripeApp == nil || !a.StripeApp.OnBehalfOf {
		t.Fatalf("api adapter = %+v", a)
	}
	if _, ok := cfg.Adapter("filed"); !ok {
		t.Fatal("file adapter lost")
	}
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "used by no adapter") {
			t.Errorf("a StripeApp used by an API adapter was reported unused: %s", w)
		}
	}

	tests := []struct {
		name string
		api  APIAdapter
		want []string
	}{
		{"conflicts with the file", apiDocFor("filed", ""), []string{"api adapter filed:1:", "already defined in atlas.yml at atlas.yml:8", "read-only"}},
		{"missing stored secret", func() APIAdapter {
			d := apiDocFor("s2", "")
			d.Document = []byte(strings.Replace(string(d.Document), "STRIPE_KEY", "NOPE", 1))
			return d
		}(),
			[]string{"api adapter s2:9:", "stored secret NOPE does not exist", "mom atlas secrets set NOPE"}},
		{"unknown StripeApp", apiDocFor("s3", "  stripeApp: {name: other}\n"), []string{"api adapter s3:", "matches no StripeApp"}},
		{"name mismatch", APIAdapter{Name: "x", Document: apiDocFor("y", "").Document}, []string{"does not match the adapter name"}},
		{"wrong kind", APIAdapter{Name: "pg", Document: []byte("apiVersion: moment.dev/adapters/v1alpha1\nkind: Postgres\nmetadata: {name: pg}\n")}, []string{"api adapter pg:1:", "must have kind HTTP"}},
		{"bad yaml", APIAdapter{Name: "b", Document: []byte("kind: [")}, []string{"api adapter b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWithAPI("atlas.yml", []byte(apiFile), []APIAdapter{tc.api}, opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "sk_test_from_store") {
				t.Error("error reveals a stored secret")
			}
		})
	}
}
