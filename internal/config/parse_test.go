package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/model"
)

const atlasHead = "apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\n"

const stripeDoc = `---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: stripe}
spec:
  baseUrl: https://api.stripe.com
`

// TestParseEdgeCases covers odd but possible inputs written inline.
func TestParseEdgeCases(t *testing.T) {
	ref := "spec:\n  apiAdapters:\n  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}\n"
	tests := []struct {
		name, yaml string
		wantErr    string // "" means success
		adapters   int
	}{
		{"empty file", "", "1: no Atlas document found", 0},
		{"only separators", "---\n---\n", "1: no Atlas document found", 0},
		{"scalar document", atlasHead + "---\nhello\n", "4: document is not a mapping", 0},
		{"atlas only", atlasHead, "", 0},
		{"empty exposedPorts", atlasHead + "spec:\n  exposedPorts: {}\n  apiAdapters: []\n", "", 0},
		{"quoted ports", atlasHead + "spec:\n  exposedPorts: {ingressHttpPort: '8080', adminPort: \"9001\"}\n", "", 0},
		{"same ports", atlasHead + "spec:\n  exposedPorts: {ingressHttpPort: 9000}\n", "4: spec.exposedPorts: ingressHttpPort and adminPort are both 9000", 0},
		{"ports list", atlasHead + "spec:\n  exposedPorts: [1]\n", "4: spec.exposedPorts must be a mapping", 0},
		{"apiAdapters mapping", atlasHead + "spec:\n  apiAdapters: {a: b}\n", "4: spec.apiAdapters must be a list", 0},
		{"item without adapterRef", atlasHead + "spec:\n  apiAdapters:\n  - name: x\n", "5: spec.apiAdapters[0] has no adapterRef", 0},
		{"ref without kind", atlasHead + "spec:\n  apiAdapters:\n  - adapterRef: {name: x, apiVersion: v}\n", "5: adapterRef kind is missing", 0},
		{"listed twice", atlasHead + ref + "  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}\n" + stripeDoc, "6: adapter \"stripe\" is listed twice", 0},
		{"served", atlasHead + ref + stripeDoc, "", 1},
		{"extra keys ignored", atlasHead + ref + "  owner: {x: y}\n  identityProviders: [1, {a: b}]\n  future: ${{ UNSET_IGNORED }}\n" + stripeDoc, "", 1},
		{"unsupported kind with unset secret", atlasHead + "---\nkind: AWS\nmetadata: {name: aws}\nspec: {secret: '${{ UNSET }}'}\n", "", 0},
		{"headers not a list", atlasHead + ref + stripeDoc + "  headers: {a: b}\n", "12: adapter \"stripe\": spec.headers must be a list", 0},
		{"header item scalar", atlasHead + ref + stripeDoc + "  headers: [x]\n", "12: adapter \"stripe\": spec.headers[0] must be a mapping", 0},
		{"header without value", atlasHead + ref + stripeDoc + "  headers: [{name: A}]\n", "12: adapter \"stripe\": spec.headers[0].value is missing", 0},
		{"header value list", atlasHead + ref + stripeDoc + "  headers: [{name: A, value: [1]}]\n", "12: adapter \"stripe\": spec.headers[0].value must be a string, not a list", 0},
		{"numeric header value", atlasHead + ref + stripeDoc + "  headers: [{name: X-Num, value: 42}]\n", "", 1},
		{"no spec", atlasHead + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\n", "7: adapter \"stripe\" has no spec", 0},
		{"no name", atlasHead + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nspec: {}\n", "4: metadata.name is missing", 0},
		{"alias cycle", atlasHead + "spec: &a\n  apiAdapters: *a\n", "3: spec.apiAdapters must be a list", 0},
		{"self alias", "a: &x [*x]\n" + atlasHead, "", 0},
		{"aliases resolved", atlasHead + "x: &v https://api.stripe.com\n" + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\nspec: {baseUrl: https://api.stripe.com}\n", "", 1},
		{"tls on http", atlasHead + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\nspec:\n  baseUrl: http://h\n  tls: {caFile: ca.pem}\n", "12: adapter \"stripe\": spec.tls.caFile is set but baseUrl uses http://", 0},
		{"tls missing file", atlasHead + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\nspec:\n  baseUrl: https://h\n  tls: {caFile: nope.pem}\n", "12: adapter \"stripe\": spec.tls.caFile: ", 0},
		{"tls not pem", atlasHead + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\nspec:\n  baseUrl: https://h\n  tls: {caFile: /abs/bad.pem}\n", "12: adapter \"stripe\": spec.tls.caFile \"/abs/bad.pem\": contains no PEM CERTIFICATE", 0},
		{"tls relative to file", atlasHead + ref + "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata: {name: stripe}\nspec:\n  baseUrl: https://h\n  tls: {caFile: certs/ca.pem}\n", "", 1},
		{"control characters", atlasHead + "\x00\x01", "invalid YAML", 0},
	}
	files := map[string][]byte{"/abs/bad.pem": []byte("nope"), "conf/certs/ca.pem": testCAPEM(t)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("conf/atlas.yml", []byte(tt.yaml), testOptions(files))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if len(problems(err)) != 1 {
					t.Errorf("want exactly one problem, got:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(cfg.Adapters) != tt.adapters {
				t.Errorf("got %d adapters, want %d", len(cfg.Adapters), tt.adapters)
			}
		})
	}
}

// FuzzParse proves that no input makes Parse panic and that every problem
// carries the file name.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/errors/*.yaml"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(atlasHead + "a: &x [*x]\nspec: &s {apiAdapters: *s}\n"))
	f.Add([]byte(atlasHead + "spec:\n  apiAdapters:\n  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}\n" + stripeDoc +
		"  stripeApp: {name: my-app, onBehalfOf: true}\n---\napiVersion: atlas/v1alpha1\nkind: StripeApp\nmetadata: {name: my-app}\n" +
		"spec: {signingSecrets: [absec_x, whsec_y], tolerance: 5m, maxBodyBytes: 1024}\n"))
	opts := Options{
		LookupEnv: func(k string) (string, bool) {
			if strings.HasPrefix(k, "U") {
				return "", false
			}
			return "v\r\n" + k, true
		},
		ReadFile: func(string) ([]byte, error) {
			return []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), nil
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yml", data, opts)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		for _, msg := range problems(err) {
			if !strings.HasPrefix(msg, "fuzz.yml:") {
				t.Fatalf("problem without file position: %q", msg)
			}
		}
		if err == nil {
			checkStripeApps(t, cfg)
		}
	})
}

// checkStripeApps asserts what consumers rely on in a valid Config's
// StripeApps: sorted unique names, usable secrets and limits, and every
// adapter's spec.stripeApp naming one of them.
func checkStripeApps(t *testing.T, cfg *model.Config) {
	t.Helper()
	for i, app := range cfg.StripeApps {
		if i > 0 && cfg.StripeApps[i-1].Name >= app.Name {
			t.Fatalf("StripeApps not sorted and unique: %q then %q", cfg.StripeApps[i-1].Name, app.Name)
		}
		if len(app.SigningSecrets) == 0 || app.Tolerance <= 0 || app.Tolerance > MaxSignatureTolerance ||
			app.MaxBodyBytes == 0 || app.MaxBodyBytes > MaxBodyBytesLimit {
			t.Fatalf("invalid StripeApp accepted: %q", app.Name)
		}
		for _, s := range app.SigningSecrets {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				t.Fatalf("StripeApp %q: unusable signing secret accepted", app.Name)
			}
		}
	}
	for _, a := range cfg.Adapters {
		if a.StripeApp != nil {
			if _, ok := cfg.StripeApp(a.StripeApp.Name); !ok {
				t.Fatalf("adapter %q refers to missing StripeApp %q", a.Name, a.StripeApp.Name)
			}
		}
	}
}
