package config

import (
	"bytes"
	"strings"
	"testing"
)

// TestInlineCAPem covers spec.tls.caPem, the inline form of caFile that
// admin-API adapters use.
func TestInlineCAPem(t *testing.T) {
	ca := testCAPEM(t)
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(string(ca)), "\n", "\n      ") + "\n"
	doc := func(baseURL, tls string) string {
		return atlasHead + "spec:\n  apiAdapters:\n  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: internal}\n" +
			"---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: internal}\nspec:\n  baseUrl: " + baseURL + "\n  tls:\n" + tls
	}
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"inline bundle", doc("https://h", "    caPem: |\n"+indented), ""},
		{"http upstream", doc("http://h", "    caPem: |\n"+indented), `13: adapter "internal": spec.tls.caPem is set but baseUrl uses http://`},
		{"not pem", doc("https://h", "    caPem: hello\n"), `13: adapter "internal": spec.tls.caPem: contains no PEM CERTIFICATE block`},
		{"private key is not echoed", doc("https://h", "    caPem: |\n      -----BEGIN PRIVATE KEY-----\n      AAAA\n      -----END PRIVATE KEY-----\n"), `contains a "PRIVATE KEY" PEM block`},
		{"both forms", doc("https://h", "    caFile: ca.pem\n    caPem: |\n"+indented), `14: adapter "internal": spec.tls has both caFile and caPem; keep one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("atlas.yml", []byte(tt.yaml), testOptions(map[string][]byte{"ca.pem": ca}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "AAAA") {
					t.Errorf("the error quotes the PEM block: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Adapters) != 1 || !bytes.Equal(cfg.Adapters[0].Upstream.CAPEM, ca) {
				t.Errorf("CAPEM = %q, want the inline bundle", cfg.Adapters[0].Upstream.CAPEM)
			}
		})
	}
}
