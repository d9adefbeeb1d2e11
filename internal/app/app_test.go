package app

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Main(t.Context(), args, &out, &errb)
	return out.String(), errb.String(), err
}

const validConfig = `apiVersion: moment.dev/atlas/v1alpha1
kind: Atlas
metadata: {name: t}
spec:
  apiAdapters:
  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}
  exposedPorts: {}
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: stripe}
spec:
  baseUrl: https://api.stripe.com
  headers:
  - name: Authorization
    value: Bearer ${{ ATLAS_APP_TEST_KEY }}
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "atlas.yml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no command":          nil,
		"unknown command":     {"serve"},
		"run without -f":      {"run"},
		"run bad injection":   {"run", "-f", "x.yml", "--injection", "magic"},
		"run bad envoy mode":  {"run", "-f", "x.yml", "--envoy", "docker"},
		"run bad sig filter":  {"run", "-f", "x.yml", "--signature-filter", "lua"},
		"run stray argument":  {"run", "-f", "x.yml", "extra"},
		"validate without -f": {"validate"},
		"bootstrap bad flag":  {"bootstrap", "--nope"},
		"run undefined flag":  {"run", "--frobnicate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := runMain(t, args...)
			if !errors.Is(err, ErrUsage) || stderr == "" {
				t.Fatalf("err %v, stderr %q; want ErrUsage with an explanation", err, stderr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("ATLAS_APP_TEST_KEY", "sk_test_app_secret_value")
	out, _, err := runMain(t, "validate", "-f", writeFile(t, validConfig))
	if err != nil || !strings.Contains(out, "is valid: 1 adapter(s) [stripe], ingress port 8082") {
		t.Fatalf("out %q err %v", out, err)
	}
	if strings.Contains(out, "sk_test_app_secret_value") {
		t.Fatal("validate printed a secret")
	}
}

func TestRunRefusesAnInvalidConfigWithEveryProblem(t *testing.T) {
	bad := strings.Replace(validConfig, "https://api.stripe.com", "ftp://x", 1)
	bad = strings.Replace(bad, "ATLAS_APP_TEST_KEY", "ATLAS_APP_TEST_UNSET_VAR", 1)
	_, _, err := runMain(t, "run", "-f", writeFile(t, bad), "--xds-address", "127.0.0.1:0", "--data-dir", t.TempDir())
	if err == nil {
		t.Fatal("run started with an invalid configuration")
	}
	for _, want := range []string{"atlas.yml:", "ATLAS_APP_TEST_UNSET_VAR", "ftp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestBootstrapPrintsAValidTemplate(t *testing.T) {
	out, _, err := runMain(t, "bootstrap", "--xds-address", "10.0.0.5:18000", "--node-id", "pod-1")
	if err != nil || !strings.Contains(out, `id: "pod-1"`) || !strings.Contains(out, "address: 10.0.0.5, port_value: 18000") {
		t.Fatalf("out %q err %v", out, err)
	}
	if _, _, err := runMain(t, "bootstrap", "--xds-address", "nope"); err == nil {
		t.Fatal("bootstrap accepted an address without a port")
	}
}
