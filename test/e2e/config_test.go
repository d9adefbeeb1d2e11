package e2e

import (
	"fmt"
	"strings"
)

// adapter is one HTTP adapter of a generated Atlas configuration.
type adapter struct {
	name, baseURL, caFile string
	headers               [][2]string
}

// atlasConfig renders Moment's format: the Atlas document with one
// adapterRef per adapter, then one HTTP document each. INGRESS_PORT is filled
// in by startAtlas.
func atlasConfig(adapters ...adapter) string {
	var b strings.Builder
	b.WriteString("apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\nmetadata:\n  name: e2e\nspec:\n  apiAdapters:\n")
	for _, a := range adapters {
		fmt.Fprintf(&b, "  - adapterRef:\n      apiVersion: moment.dev/adapters/v1alpha1\n      kind: HTTP\n      name: %s\n", a.name)
	}
	b.WriteString("  exposedPorts:\n    ingressHttpPort: INGRESS_PORT\n")
	for _, a := range adapters {
		fmt.Fprintf(&b, "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata:\n  name: %s\nspec:\n  baseUrl: %s\n", a.name, a.baseURL)
		if a.caFile != "" {
			fmt.Fprintf(&b, "  tls:\n    caFile: %s\n", a.caFile)
		}
		b.WriteString("  headers:\n")
		for _, h := range a.headers {
			fmt.Fprintf(&b, "  - name: %s\n    value: %s\n", h[0], h[1])
		}
	}
	return b.String()
}

// injectionModes runs a test against both header injection paths.
var injectionModes = []string{"static", "extproc"}
