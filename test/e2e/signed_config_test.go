package e2e

import (
	"fmt"
	"strings"
)

// signedConfig is issue #3's shape: a StripeApp with one or more signing
// secrets, a Stripe-like adapter acting on behalf of the verified account,
// and the app's own backend adapter. Both adapters point at upstream.
func signedConfig(upstreamPort int, secretVars ...string) string {
	var b strings.Builder
	b.WriteString(atlasConfig(
		adapter{name: "stripe", baseURL: fmt.Sprintf("http://127.0.0.1:%d", upstreamPort), headers: [][2]string{{"Authorization", "Bearer ${{ STRIPE_API_KEY }}"}}},
		adapter{name: "backend", baseURL: fmt.Sprintf("http://127.0.0.1:%d/backend", upstreamPort), headers: [][2]string{{"X-Backend-Key", "backend-key-e2e"}}},
		adapter{name: "plain", baseURL: fmt.Sprintf("http://127.0.0.1:%d/plain", upstreamPort), headers: [][2]string{{"Authorization", "Bearer plain-key"}}},
	))
	cfg := b.String()
	cfg = strings.Replace(cfg, "metadata:\n  name: stripe\nspec:\n", "metadata:\n  name: stripe\nspec:\n  stripeApp:\n    name: my-app\n    onBehalfOf: true\n", 1)
	cfg = strings.Replace(cfg, "metadata:\n  name: backend\nspec:\n", "metadata:\n  name: backend\nspec:\n  stripeApp:\n    name: my-app\n", 1)
	cfg += "---\napiVersion: atlas/v1alpha1\nkind: StripeApp\nmetadata:\n  name: my-app\nspec:\n  tolerance: 300s\n  maxBodyBytes: 4096\n  signingSecrets:\n"
	for _, v := range secretVars {
		cfg += "  - ${{ " + v + " }}\n"
	}
	return cfg
}
