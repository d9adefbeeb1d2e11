package envoy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestShippedBootstrapMatchesTemplate keeps envoy/bootstrap.yaml (for users
// who run Envoy themselves) identical to the template's default rendering.
func TestShippedBootstrapMatchesTemplate(t *testing.T) {
	want, err := Render(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("envoy/bootstrap.yaml is stale; regenerate it with: go run ./cmd/atlas bootstrap > envoy/bootstrap.yaml")
	}
}

func TestRenderRejectsBadAddresses(t *testing.T) {
	for name, b := range map[string]Bootstrap{
		"no port":      {NodeID: "n", Cluster: "c", XDSAddress: "127.0.0.1", AdminAddress: "127.0.0.1:9901"},
		"port 0":       {NodeID: "n", Cluster: "c", XDSAddress: "127.0.0.1:0", AdminAddress: "127.0.0.1:9901"},
		"bad admin":    {NodeID: "n", Cluster: "c", XDSAddress: "127.0.0.1:1", AdminAddress: "x"},
		"empty nodeID": {Cluster: "c", XDSAddress: "127.0.0.1:1", AdminAddress: "127.0.0.1:9901"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Render(b); err == nil {
				t.Fatal("Render accepted an invalid bootstrap")
			}
		})
	}
}

func TestRenderUsesDNSForHostNames(t *testing.T) {
	b := Defaults()
	b.XDSAddress = "atlas.atlas-system.svc:18000"
	out, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "type: STRICT_DNS") || !strings.Contains(string(out), "address: atlas.atlas-system.svc, port_value: 18000") {
		t.Fatalf("a host name must use STRICT_DNS:\n%s", out)
	}
}

// Envoy fetches everything over delta (incremental) ADS; CDS and LDS come
// over that ADS stream.
func TestBootstrapUsesDeltaADS(t *testing.T) {
	out, err := Render(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DynamicResources struct {
			ADSConfig struct {
				APIType string `json:"api_type"`
			} `json:"ads_config"`
			CDSConfig map[string]any `json:"cds_config"`
			LDSConfig map[string]any `json:"lds_config"`
		} `json:"dynamic_resources"`
	}
	if err := yaml.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	d := b.DynamicResources
	if d.ADSConfig.APIType != "DELTA_GRPC" {
		t.Errorf("ads_config.api_type = %q, want DELTA_GRPC", d.ADSConfig.APIType)
	}
	for name, c := range map[string]map[string]any{"cds_config": d.CDSConfig, "lds_config": d.LDSConfig} {
		if _, ok := c["ads"]; !ok {
			t.Errorf("%s = %v, want ads", name, c)
		}
	}
}

// The shipped bootstraps load in the real Envoy (--mode validate).
func TestShippedBootstrapsValidateWithEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	for _, f := range []string{"bootstrap.yaml", "sidecar-bootstrap.yaml"} {
		out, err := exec.CommandContext(t.Context(), bin, "--mode", "validate", "-c", f, "--log-level", "warn").CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate with %s: %v\n%s", f, bin, err, out)
		}
	}
}

// envoyBinary is $ENVOY_BIN, else envoy on PATH, else the project-local
// install (make envoy); the test is skipped without one.
func envoyBinary(t *testing.T) string {
	if b := os.Getenv("ENVOY_BIN"); b != "" {
		return b
	}
	if b, err := exec.LookPath("envoy"); err == nil {
		return b
	}
	b, err := filepath.Abs("../.tools/envoy/envoy/_bin/envoy")
	if err == nil {
		if _, err = os.Stat(b); err == nil {
			return b
		}
	}
	t.Skip("no Envoy binary: set ENVOY_BIN or run make envoy")
	return ""
}
