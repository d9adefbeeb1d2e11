package translate

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/atlas-gateway/atlas/internal/model"
)

// upstreamTimeout matches stripe-go's default client timeout (80 s), so long
// Stripe calls are not cut short by the gateway.
const upstreamTimeout = 80 * time.Second

// NotFoundMessage is the body of the 404 for a path no adapter serves.
const NotFoundMessage = "Unrecognized request URL. Atlas serves API adapters at /v1/apis/http/{adapter}/...; check that the adapter name matches an adapter in the Atlas configuration."

// buildRoutes returns the route configuration: two routes per adapter (its
// bare path and everything under it), then a 404 for everything else.
func buildRoutes(cfg *model.Config, clusterOf map[string]string, opts Options) (*routev3.RouteConfiguration, error) {
	routes := make([]*routev3.Route, 0, 2*len(cfg.Adapters)+1)
	for _, a := range cfg.Adapters {
		prefix := RoutePrefix + a.Name
		filters := routeFilterConfigs(cfg, a, opts)
		routes = append(routes,
			adapterRoute(a, clusterOf[a.Name], &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix + "/"}}, a.Upstream.BasePath+"/", filters),
			adapterRoute(a, clusterOf[a.Name], &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: prefix}}, bareRewrite(a.Upstream.BasePath), filters),
		)
	}
	routes = append(routes, appsRoutes(opts)...) // apps.go
	routes = append(routes, &routev3.Route{
		Name:                 "atlas_not_found",
		TypedPerFilterConfig: withoutExtProc(nil, opts),
		Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 404,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: NotFoundMessage}},
		}},
	})
	return &routev3.RouteConfiguration{
		Name: RouteName,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "atlas",
			Domains: []string{"*"},
			Routes:  routes,
		}},
	}, nil
}

func bareRewrite(basePath string) string {
	if basePath == "" {
		return "/"
	}
	return basePath
}

func adapterRoute(a model.Adapter, cluster string, match *routev3.RouteMatch, rewrite string, filters map[string]*anypb.Any) *routev3.Route {
	// Client copies of the identity headers are already gone (the
	// listener's early header mutation strips them).
	return &routev3.Route{
		Name:  a.Name,
		Match: match,
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier:     &routev3.RouteAction_Cluster{Cluster: cluster},
			PrefixRewrite:        rewrite,
			HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: a.Upstream.HostHeader()},
			Timeout:              durationpb.New(upstreamTimeout),
		}},
		TypedPerFilterConfig: filters,
	}
}
