package config

import (
	"strings"
	"testing"
)

// appKeyDoc is a valid config with one StripeApp, "my-app" (line 6), used
// by no adapter; the test appends its spec.appKey line (line 10).
const appKeyDoc = atlasHead + `spec: {apiAdapters: []}
---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: my-app}
spec:
  signingSecrets: ['${{ STRIPE_APP_SECRET }}']
`

func appKeyOptions() Options {
	extra := map[string]string{
		"ATLAS_APP_KEY":   "appkey_s3cr3t_0123456789abcdef",
		"SHORT_APP_KEY":   "s3cr3t_short",
		"NEWLINE_APP_KEY": "appkey_s3cr3t_0123456789abcdef\n",
		"EMPTY_APP_KEY":   "",
	}
	o := testOptions(nil)
	o.LookupEnv = func(k string) (string, bool) {
		if v, ok := extra[k]; ok {
			return v, true
		}
		v, ok := testEnv[k]
		return v, ok
	}
	return o
}

func TestAppKey(t *testing.T) {
	tests := []struct {
		name    string
		line    string // spec line 10, or "" for none
		wantKey string
	}{
		{"absent", "", ""},
		{"null", "  appKey: null\n", ""},
		{"from the environment", "  appKey: ${{ ATLAS_APP_KEY }}\n", "appkey_s3cr3t_0123456789abcdef"},
		{"literal", "  appKey: literal_s3cr3t_key_0123\n", "literal_s3cr3t_key_0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("atlas.yml", []byte(appKeyDoc+tt.line), appKeyOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.StripeApps) != 1 || cfg.StripeApps[0].AppKey != tt.wantKey {
				t.Fatalf("StripeApps = %+v, want AppKey %q", cfg.StripeApps, tt.wantKey)
			}
			// An app with a key serves the Secret Store to its backend,
			// so it has an effect without any adapter.
			unused := false
			for _, w := range cfg.Warnings {
				unused = unused || strings.Contains(w, "used by no adapter")
			}
			if unused != (tt.wantKey == "") {
				t.Errorf("warnings = %q; want the unused warning only without a key", cfg.Warnings)
			}
		})
	}
}

func TestAppKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{"unset variable", "  appKey: ${{ MISSING_APP_KEY }}\n", `atlas.yml:10: StripeApp "my-app": spec.appKey: environment variable MISSING_APP_KEY is not set; export MISSING_APP_KEY`},
		{"empty", "  appKey: ${{ EMPTY_APP_KEY }}\n", `atlas.yml:10: StripeApp "my-app": spec.appKey (from ${{ EMPTY_APP_KEY }}) is empty`},
		{"newline", "  appKey: ${{ NEWLINE_APP_KEY }}\n", `atlas.yml:10: StripeApp "my-app": spec.appKey (from ${{ NEWLINE_APP_KEY }}) contains whitespace or a control character`},
		{"too short", "  appKey: ${{ SHORT_APP_KEY }}\n", `atlas.yml:10: StripeApp "my-app": spec.appKey (from ${{ SHORT_APP_KEY }}) is 12 bytes; use a random key of at least 16`},
		{"short literal", "  appKey: s3cr3t\n", `atlas.yml:10: StripeApp "my-app": spec.appKey is 6 bytes`},
		{"a list", "  appKey: [a, b]\n", `atlas.yml:10: StripeApp "my-app": spec.appKey must be a string such as ${{ ATLAS_APP_KEY }}, not a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("atlas.yml", []byte(appKeyDoc+tt.line), appKeyOptions())
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
}
