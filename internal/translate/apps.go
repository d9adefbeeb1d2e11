package translate

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// AppsCluster is the static cluster that reaches Atlas's apps server
// (internal/apps): the Secret Store and the OAuth broker.
const AppsCluster = "atlas_apps"

// AppsPrefixes are the paths Envoy sends to the apps server.
var AppsPrefixes = []string{"/v1/apps/", "/v1/oauth/", "/v1/apis/oauth/"}

// appsHeader is the header that names the StripeApp when Atlas serves
// several (apps.HeaderStripeApp; not imported, translate stays pure of
// server packages).
const appsHeader = "atlas-stripe-app"

// appsCluster returns the cluster for opts.AppsAddress, or nil when the
// apps server is off.
func appsCluster(opts Options) (*clusterv3.Cluster, error) {
	if opts.AppsAddress == "" {
		return nil, nil
	}
	host, port, err := splitAppsAddress(opts.AppsAddress)
	if err != nil {
		return nil, err
	}
	return &clusterv3.Cluster{
		Name:                 AppsCluster,
		ConnectTimeout:       durationpb.New(upstreamConnectTimeout),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: AppsCluster,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(host, port)}},
				}},
			}},
		},
	}, nil
}

func splitAppsAddress(addr string) (string, uint32, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("translate: apps address %q: %w; use IP:PORT such as 127.0.0.1:18001", addr, err)
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return "", 0, fmt.Errorf("translate: apps address %q: the host must be an IP address (Envoy reaches it through a static cluster), such as 127.0.0.1:18001", addr)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("translate: apps address %q: the port must be 1 to 65535", addr)
	}
	return ip.String(), uint32(port), nil
}

// appsRoutes sends AppsPrefixes to the apps server; none when it is off.
// No verifier filter runs on them: the apps server verifies every request
// itself (it is Atlas too), which also lets it accept the app backend's
// key. Client copies of the identity headers never get this far (the
// listener strips them from every request), and the app frontend's
// Origin: null preflights are answered as on signed adapters.
func appsRoutes(opts Options) []*routev3.Route {
	if opts.AppsAddress == "" {
		return nil
	}
	cors := corsPolicy()
	cors.AllowHeaders += ", " + appsHeader
	filters := withoutExtProc(map[string]*anypb.Any{CorsFilterName: mustAny(cors)}, opts)
	out := make([]*routev3.Route, 0, len(AppsPrefixes))
	for _, prefix := range AppsPrefixes {
		out = append(out, &routev3.Route{
			Name:  "atlas_apps" + prefix,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: AppsCluster},
				Timeout:          durationpb.New(upstreamTimeout),
			}},
			TypedPerFilterConfig: filters,
		})
	}
	return out
}
