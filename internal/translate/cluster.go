package translate

import (
	"net/netip"
	"sort"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/atlas-gateway/atlas/internal/model"
)

const upstreamConnectTimeout = 5 * time.Second

// buildClusters returns the clusters, sorted by name, and the cluster name
// of every adapter. Adapters whose credentials Envoy injects (static mode,
// unsigned, with headers) get a cluster of their own that carries the
// credential_injector filters (inject.go); the others share one cluster per
// distinct upstream (and its connection pool).
func buildClusters(adapters []model.Adapter, opts Options) ([]types.Resource, map[string]string) {
	byName := map[string]*clusterv3.Cluster{}
	clusterOf := make(map[string]string, len(adapters))
	for _, a := range adapters {
		if injectsInCluster(a, opts) {
			name := adapterClusterName(a.Name)
			clusterOf[a.Name] = name
			c := buildCluster(name, a.Upstream, opts)
			withInjectors(c, a)
			byName[name] = c
			continue
		}
		name := clusterName(a.Upstream)
		clusterOf[a.Name] = name
		if _, ok := byName[name]; !ok {
			byName[name] = buildCluster(name, a.Upstream, opts)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]types.Resource, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out, clusterOf
}

func buildCluster(name string, u model.Upstream, opts Options) *clusterv3.Cluster {
	_, ipErr := netip.ParseAddr(u.Host)
	isIP := ipErr == nil
	discovery := clusterv3.Cluster_LOGICAL_DNS
	if isIP {
		discovery = clusterv3.Cluster_STATIC
	}
	c := &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(upstreamConnectTimeout),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: discovery},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: socketAddress(u.Host, u.Port),
					}},
				}},
			}},
		},
	}
	if !isIP {
		c.DnsLookupFamily = clusterv3.Cluster_V4_PREFERRED
		// Re-resolve when the record expires rather than every 5 s: every
		// adapter with injected credentials has its own cluster, so many
		// clusters may resolve the same host.
		c.RespectDnsTtl = true
	}
	if u.TLS() {
		c.TransportSocket = upstreamTLS(u, isIP, opts)
	}
	return c
}

// upstreamTLS verifies the server certificate against the system bundle (or
// the adapter's CA) AND checks that it names the upstream host: trusted_ca
// alone only checks the chain.
func upstreamTLS(u model.Upstream, isIP bool, opts Options) *corev3.TransportSocket {
	trusted := &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: opts.SystemCAFile}}
	if len(u.CAPEM) > 0 {
		trusted = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: u.CAPEM}}
	}
	sanType := tlsv3.SubjectAltNameMatcher_DNS
	if isIP {
		sanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	}
	ctx := &tlsv3.UpstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
				ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa: trusted,
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
						SanType: sanType,
						Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: u.Host}},
					}},
				},
			},
		},
	}
	if !isIP {
		ctx.Sni = u.Host // SNI must be a host name, never an IP literal.
	}
	return &corev3.TransportSocket{
		Name:       "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(ctx)},
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}
