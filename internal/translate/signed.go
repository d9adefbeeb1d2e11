package translate

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/atlas-gateway/atlas/internal/model"
)

// SignatureFilter selects the Envoy filter that verifies Stripe App
// signatures on adapters with spec.stripeApp.
type SignatureFilter string

const (
	// SignatureExtProc verifies in Atlas's ext_proc service (the default).
	SignatureExtProc SignatureFilter = "extproc"
	// SignatureExtAuthz verifies in Atlas's ext_authz Check service.
	SignatureExtAuthz SignatureFilter = "extauthz"
)

// Filter names shared with the per-route configs.
const (
	CorsFilterName     = "envoy.filters.http.cors"
	ExtAuthzFilterName = "envoy.filters.http.ext_authz"
	// ContextAdapterKey is the ext_authz context extension naming the adapter.
	ContextAdapterKey = "adapter"
)

// statusOnVerifierError is what Envoy answers when the verifier is down or
// too slow: fail closed, and say "try again" rather than "your fault".
const statusOnVerifierError = typev3.StatusCode_ServiceUnavailable

func corsFilter() *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{Name: CorsFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&corsv3.Cors{})}}
}

func extAuthzFilter(maxBody uint32) *hcmv3.HttpFilter {
	cfg := &extauthzv3.ExtAuthz{
		Services: &extauthzv3.ExtAuthz_GrpcService{GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: ControlPlaneCluster}},
			Timeout:         durationpb.New(extProcMessageTimeout),
		}},
		TransportApiVersion: corev3.ApiVersion_V3,
		FailureModeAllow:    false,
		StatusOnError:       &typev3.HttpStatus{Code: statusOnVerifierError},
		// The exact body bytes are the signed payload: never re-encoded.
		WithRequestBody: &extauthzv3.BufferSettings{MaxRequestBytes: maxBody, PackAsBytes: true},
		StatPrefix:      "atlas",
		// Send header bytes as they arrived (header_map raw_value), not
		// UTF-8-sanitised: the bytes verified must be the bytes forwarded.
		EncodeRawHeaders: true,
	}
	return &hcmv3.HttpFilter{
		Name:       ExtAuthzFilterName,
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(cfg)},
		Disabled:   true,
	}
}

// corsPolicy lets Stripe App UI extensions, which run in sandboxed iframes
// and so send "Origin: null", call signed routes; Envoy answers preflights.
func corsPolicy() *corsv3.CorsPolicy {
	return &corsv3.CorsPolicy{
		AllowOriginStringMatch: []*matcherv3.StringMatcher{{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "null"}}},
		AllowMethods:           "GET, POST, PUT, PATCH, DELETE, OPTIONS",
		AllowHeaders:           "stripe-signature, stripe-user, stripe-user-id, stripe-account-id, content-type, idempotency-key, stripe-version",
		ExposeHeaders:          "request-id, " + strings.ToLower(errorCodeHeader),
		MaxAge:                 "600",
	}
}

// errorCodeHeader mirrors extproc.ErrorCodeHeader (the local reply formatter
// reads it); kept here to avoid translate importing a server package.
const errorCodeHeader = "x-atlas-error-code"

// signedFilterConfigs enables CORS and the verifier on a signed adapter's
// routes. The verifier also injects the adapter's credentials, so signed
// requests make one extra hop, not two.
func signedFilterConfigs(a model.Adapter, app *model.StripeApp, opts Options) map[string]*anypb.Any {
	out := map[string]*anypb.Any{CorsFilterName: mustAny(corsPolicy())}
	switch opts.SignatureFilter {
	case SignatureExtAuthz:
		out[ExtAuthzFilterName] = enable(&extauthzv3.ExtAuthzPerRoute{Override: &extauthzv3.ExtAuthzPerRoute_CheckSettings{
			CheckSettings: &extauthzv3.CheckSettings{ContextExtensions: map[string]string{ContextAdapterKey: a.Name}},
		}})
		// ext_authz verified and injected: ext_proc (on by default in
		// ext_proc mode) must not see the request a second time.
		out = withoutExtProc(out, opts)
	default:
		out[ExtProcFilterName] = enable(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
			ProcessingMode: &extprocv3.ProcessingMode{
				RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
				RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED, // the body may be the signed payload
				ResponseHeaderMode:  extprocv3.ProcessingMode_SKIP,
				RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
				ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
			},
			GrpcInitialMetadata: []*corev3.HeaderValue{{Key: AdapterMetadataKey, Value: a.Name}},
		}}})
	}
	return out
}

// maxSignedBody is the largest body any signed adapter accepts; Envoy must
// be able to buffer it.
func maxSignedBody(cfg *model.Config) uint32 {
	max := uint32(model.DefaultMaxBodyBytes)
	for _, app := range cfg.StripeApps {
		if app.MaxBodyBytes > max {
			max = app.MaxBodyBytes
		}
	}
	return max
}
