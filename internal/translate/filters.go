package translate

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	credv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/atlas-gateway/atlas/internal/model"
)

// ExtProcFilterName is the HCM filter name of the ext_proc filter.
const ExtProcFilterName = "envoy.filters.http.ext_proc"

// extProcMessageTimeout bounds each ext_proc exchange; past it Envoy fails
// the request closed. 200 ms is Envoy's default, stated here on purpose.
const extProcMessageTimeout = 200 * time.Millisecond

// httpFilters returns the HCM filter chain. Every Atlas filter is disabled at
// the listener and enabled only on the routes that need it, so an adapter
// pays only for its own filters.
//
// Order: CORS answers preflights first; then the signature verifier, so
// nothing is injected into a request that fails verification; then the
// static credential injectors; ext_proc; the router. ext_proc (and ext_authz
// when selected) are always present, so adding an adapter never changes the
// listener in ext_proc mode (a listener change drains open connections).
func httpFilters(cfg *model.Config, opts Options) ([]*hcmv3.HttpFilter, error) {
	out := []*hcmv3.HttpFilter{corsFilter()}
	if opts.SignatureFilter == SignatureExtAuthz {
		out = append(out, extAuthzFilter(maxSignedBody(cfg)))
	}
	if opts.Injection == InjectionStatic {
		for _, a := range unsigned(cfg.Adapters) {
			for _, h := range a.Headers {
				out = append(out, credentialInjector(a.Name, h))
			}
		}
	}
	out = append(out, extProcFilter())
	return append(out, routerFilter()), nil
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
		Name:       injectorFilterName(adapter, h.Name),
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(cfg)},
		Disabled:   true,
	}
}

func extProcFilter() *hcmv3.HttpFilter {
	cfg := &extprocv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: ControlPlaneCluster}},
			Timeout:         durationpb.New(extProcMessageTimeout),
		},
		FailureModeAllow: false, // fail closed: no credentials, no request.
		StatusOnError:    &typev3.HttpStatus{Code: statusOnVerifierError},
		MessageTimeout:   durationpb.New(extProcMessageTimeout),
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SKIP,
			RequestBodyMode:     extprocv3.ProcessingMode_NONE,
			ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
		StatPrefix: "atlas",
	}
	return &hcmv3.HttpFilter{
		Name:       ExtProcFilterName,
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(cfg)},
		Disabled:   true,
	}
}

// routeFilterConfigs enables, on one adapter's routes, the filters it needs.
func routeFilterConfigs(cfg *model.Config, a model.Adapter, opts Options) map[string]*anypb.Any {
	if a.StripeApp != nil {
		app, _ := cfg.StripeApp(a.StripeApp.Name)
		return signedFilterConfigs(a, app, opts)
	}
	out := map[string]*anypb.Any{}
	switch opts.Injection {
	case InjectionStatic:
		for _, h := range a.Headers {
			out[injectorFilterName(a.Name, h.Name)] = enable(nil)
		}
	case InjectionExtProc:
		out[ExtProcFilterName] = enable(&extprocv3.ExtProcPerRoute{
			Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
				GrpcInitialMetadata: []*corev3.HeaderValue{{Key: AdapterMetadataKey, Value: a.Name}},
			}},
		})
	}
	return out
}

// enable wraps an optional per-route config in a FilterConfig that turns on
// a filter disabled at the listener. Envoy requires the config field to be
// present; an empty Any means "enabled, no per-route config".
func enable(perRoute proto.Message) *anypb.Any {
	fc := &routev3.FilterConfig{Config: &anypb.Any{}}
	if perRoute != nil {
		fc.Config = mustAny(perRoute)
	}
	return mustAny(fc)
}
