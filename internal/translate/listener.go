package translate

import (
	"strings"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// buildListener returns the ingress listener: one HTTP connection manager
// whose routes come from RDS and whose filters come from the adapters.
func buildListener(cfg *model.Config, opts Options) (*listenerv3.Listener, error) {
	port := cfg.IngressPort
	if port == 0 {
		port = model.DefaultIngressPort
	}
	filters := httpFilters(maxSignedBody(cfg), opts)
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "atlas_ingress",
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: RouteName,
		}},
		HttpFilters: filters,
		// Only a request Atlas verified may carry the identity headers: drop
		// client copies before any filter runs (the verifier sets them).
		EarlyHeaderMutationExtensions: []*corev3.TypedExtensionConfig{stripIdentityHeaders()},
		// Resolve dot segments (also percent-encoded ones) and "//" before
		// routing, so a path can never climb out of an adapter's prefix.
		NormalizePath: wrapperspb.Bool(true),
		MergeSlashes:  true,
		// An encoded slash could be decoded by the upstream into a new path
		// segment the route never saw: refuse it.
		PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_REJECT_REQUEST,
		// Atlas is the edge: the peer address is the client, and client
		// supplied x-envoy-* headers are not trusted.
		UseRemoteAddress: wrapperspb.Bool(true),
		LocalReplyConfig: localReplyConfig(),
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{
			HeadersWithUnderscoresAction: corev3.HttpProtocolOptions_DROP_HEADER, // no Stripe_Account aliasing upstream
		},
	}
	return &listenerv3.Listener{
		Name: ListenerName,
		// Envoy must be able to buffer the largest signed body it verifies.
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(maxSignedBody(cfg)),
		Address:                       socketAddress(opts.ListenAddress, port),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
			}},
		}},
	}, nil
}

// stripIdentityHeaders removes the identity headers from every request as
// it arrives, for all routes at once (instead of a removal on every route).
func stripIdentityHeaders() *corev3.TypedExtensionConfig {
	m := &earlyv3.HeaderMutation{}
	for _, h := range verify.IdentityHeaders {
		m.Mutations = append(m.Mutations, &mutationv3.HeaderMutation{Action: &mutationv3.HeaderMutation_Remove{Remove: strings.ToLower(h)}})
	}
	return &corev3.TypedExtensionConfig{Name: "atlas.strip_identity_headers", TypedConfig: mustAny(m)}
}

func routerFilter() *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{
		Name:       "envoy.filters.http.router",
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
	}
}

// localReplyConfig makes every reply Envoy generates itself (unknown adapter,
// rejected path, upstream failure, …) a Stripe-shaped JSON error, so Stripe
// clients can read Atlas's errors like Stripe's own.
func localReplyConfig() *hcmv3.LocalReplyConfig {
	return &hcmv3.LocalReplyConfig{
		Mappers: []*hcmv3.ResponseMapper{{
			// The signature verifier (ext_proc or ext_authz) failed or timed
			// out: Envoy says 504 for an ext_proc timeout and 500/503 else.
			// Fail closed with one answer, 503 "retry", and say why.
			Filter:             verifierFailed(),
			StatusCode:         wrapperspb.UInt32(503),
			BodyFormatOverride: fixedCodeFormat("api_error", "verifier_unavailable", verifierMessage),
		}, {
			Filter:             statusIs(accesslogv3.ComparisonFilter_GE, 500),
			BodyFormatOverride: jsonErrorFormat("api_error", "%LOCAL_REPLY_BODY%"),
		}, {
			// Envoy's own 400s (path or header rejected before routing) have
			// no body: say what Atlas refuses and why.
			Filter:             statusIs(accesslogv3.ComparisonFilter_EQ, 400),
			BodyFormatOverride: jsonErrorFormat("invalid_request_error", badRequestMessage),
		}, {
			// Envoy's own 413 (a body over what it can buffer for
			// verification) carries the same code as Atlas's.
			Filter:             statusIs(accesslogv3.ComparisonFilter_EQ, 413),
			BodyFormatOverride: fixedCodeFormat("invalid_request_error", "body_too_large", tooLargeMessage),
		}},
		BodyFormat: jsonErrorFormat("invalid_request_error", "%LOCAL_REPLY_BODY%"),
	}
}

// badRequestMessage explains Envoy's bodyless 400s; the detail names the check.
const badRequestMessage = "The request was rejected before routing (%RESPONSE_CODE_DETAILS%). Atlas refuses paths with encoded slashes (%%2F, %%5C) and malformed HTTP."

const verifierMessage = "Atlas could not verify this request: its signature verifier was unreachable or did not answer in time (%RESPONSE_CODE_DETAILS%). Nothing was forwarded; retry shortly."

// verifierFailed matches replies Envoy makes when the ext_proc or ext_authz
// call itself failed, not Atlas's own decisions (those are 4xx).
func verifierFailed() *accesslogv3.AccessLogFilter {
	expr := &celv3.ExpressionFilter{Expression: "response.code >= 500 && (response.code_details.startsWith('ext_proc') || response.code_details.startsWith('ext_authz'))"}
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{ExtensionFilter: &accesslogv3.ExtensionFilter{
		Name:       "envoy.access_loggers.extension_filters.cel",
		ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: mustAny(expr)},
	}}}
}

const tooLargeMessage = "The request body is larger than Atlas accepts for signed requests (spec.maxBodyBytes of the StripeApp); send a smaller body."

// fixedCodeFormat is jsonErrorFormat with a fixed code, for replies that
// Envoy generates without Atlas's error-code header.
func fixedCodeFormat(errType, code, message string) *corev3.SubstitutionFormatString {
	f := jsonErrorFormat(errType, message)
	f.GetJsonFormat().GetFields()["error"].GetStructValue().GetFields()["code"] = structpb.NewStringValue(code)
	return f
}

func statusIs(op accesslogv3.ComparisonFilter_Op, code uint32) *accesslogv3.AccessLogFilter {
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_StatusCodeFilter{
		StatusCodeFilter: &accesslogv3.StatusCodeFilter{Comparison: &accesslogv3.ComparisonFilter{
			Op:    op,
			Value: &corev3.RuntimeUInt32{DefaultValue: code, RuntimeKey: "atlas.local_reply.unused"},
		}},
	}}
}

func jsonErrorFormat(errType, message string) *corev3.SubstitutionFormatString {
	body, _ := structpb.NewStruct(map[string]any{
		"error": map[string]any{
			"type":    errType,
			"message": message,
			"code":    "%RESP(x-atlas-error-code)%",
		},
	})
	return &corev3.SubstitutionFormatString{
		Format:          &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: body},
		OmitEmptyValues: true,
	}
}
