package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	credv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	codecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/atlas-gateway/atlas/internal/model"
)

// httpProtocolOptionsKey is where a cluster's HTTP options (and upstream
// filters) live in typed_extension_protocol_options.
const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// injectsInCluster reports whether Envoy itself injects a's credentials:
// static mode, an adapter without spec.stripeApp (on signed adapters the
// verifier injects them), and at least one header.
func injectsInCluster(a model.Adapter, opts Options) bool {
	return opts.Injection == InjectionStatic && a.StripeApp == nil && len(a.Headers) > 0
}

// withInjectors makes c inject a's headers: one credential_injector upstream
// filter per header, each reading its value from an SDS secret.
//
// The filters run on the upstream request, in the adapter's own cluster, not
// in the listener: adding, changing or removing an adapter then changes one
// cluster (sent alone over delta xDS) and never the listener, whose change
// would drain every open connection and which would grow with every header
// of every adapter. Requests reach the cluster only through the adapter's
// routes, so the credential cannot leak to another adapter.
func withInjectors(c *clusterv3.Cluster, a model.Adapter) {
	filters := make([]*hcmv3.HttpFilter, 0, len(a.Headers)+1)
	for _, h := range a.Headers {
		filters = append(filters, credentialInjector(a.Name, h))
	}
	filters = append(filters, &hcmv3.HttpFilter{
		Name:       "envoy.filters.http.upstream_codec",
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&codecv3.UpstreamCodec{})},
	})
	opts := &httpv3.HttpProtocolOptions{
		// HTTP/1.1, as clusters without options use.
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
		}},
		HttpFilters: filters,
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: mustAny(opts)}
}

func credentialInjector(adapter string, h model.Header) *hcmv3.HttpFilter {
	generic := &genericv3.Generic{
		Credential: &tlsv3.SdsSecretConfig{Name: secretName(adapter, h.Name), SdsConfig: adsSource()},
		Header:     h.Name,
	}
	cfg := &credv3.CredentialInjector{
		// Overwrite replaces any client-supplied copy of the header.
		Overwrite: true,
		Credential: &corev3.TypedExtensionConfig{
			Name:        "envoy.http.injected_credentials.generic",
			TypedConfig: mustAny(generic),
		},
	}
	return &hcmv3.HttpFilter{
		Name:       injectorFilterName(h.Name),
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(cfg)},
	}
}
