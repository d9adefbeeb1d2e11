package translate

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/atlas-gateway/atlas/internal/model"
)

// buildSecrets returns one generic SDS secret per injected header, holding
// the full header value. Envoy redacts generic secrets in its config dump.
func buildSecrets(adapters []model.Adapter) []types.Resource {
	var out []types.Resource
	for _, a := range adapters {
		for _, h := range a.Headers {
			out = append(out, &tlsv3.Secret{
				Name: secretName(a.Name, h.Name),
				Type: &tlsv3.Secret_GenericSecret{GenericSecret: &tlsv3.GenericSecret{
					Secret: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: h.Value}},
				}},
			})
		}
	}
	return out
}

// adsSource is a ConfigSource that says "over the ADS stream".
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}
