package translate

import (
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

func TestAppsAddressErrors(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"localhost:18001", "must be an IP address"},
		{"127.0.0.1", "use IP:PORT"},
		{"127.0.0.1:0", "port must be 1 to 65535"},
		{"127.0.0.1:70000", "port must be 1 to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			_, err := Translate(&model.Config{}, Options{AppsAddress: tt.addr})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// The apps routes come before the catch-all 404 and after every adapter,
// and enable no verifier filter: the apps server verifies by itself. In
// ext_proc mode, where ext_proc is on by default, they turn it off.
func TestAppsRoutesOrder(t *testing.T) {
	cfg := &model.Config{Adapters: []model.Adapter{{Name: "a", Upstream: model.Upstream{Scheme: "http", Host: "127.0.0.1", Port: 3000}}}}
	res, err := Translate(cfg, Options{AppsAddress: "[::1]:18001", Injection: InjectionExtProc})
	if err != nil {
		t.Fatal(err)
	}
	routes := res.Routes[0].(*routev3.RouteConfiguration).VirtualHosts[0].Routes
	var names []string
	for _, r := range routes {
		names = append(names, r.Name)
		if r.GetRoute().GetCluster() == AppsCluster {
			for f, a := range r.TypedPerFilterConfig {
				if f == CorsFilterName {
					continue
				}
				fc := &routev3.FilterConfig{}
				if err := a.UnmarshalTo(fc); err != nil || !fc.Disabled {
					t.Errorf("route %s enables %s (%v)", r.Name, f, err)
				}
			}
			if _, ok := r.TypedPerFilterConfig[ExtProcFilterName]; !ok {
				t.Errorf("route %s leaves ext_proc on", r.Name)
			}
		}
	}
	want := "a,a,atlas_apps/v1/apps/,atlas_apps/v1/oauth/,atlas_apps/v1/apis/oauth/,atlas_not_found"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("routes = %s, want %s", got, want)
	}
	if n := len(res.Clusters); n != 2 {
		t.Errorf("%d clusters, want the adapter's and atlas_apps", n)
	}
}
