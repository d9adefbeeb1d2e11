package envoy

import (
	"os"
	"strings"
	"testing"
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
