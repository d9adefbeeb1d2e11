package translate

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
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

// httpFilters returns the HCM filter chain. It depends only on the options
// and the largest signed body, never on the set of adapters, so adding or
// removing an adapter never changes the listener (a listener change drains
// every open connection).
//
// Order: CORS answers preflights first; then the signature verifier, so
// nothing is injected into a request that fails verification; ext_proc; the
// router. Static credentials are injected by upstream filters in each
// adapter's cluster (inject.go). The verifiers are disabled here and enabled
// by the routes that need them. ext_proc is enabled for every route in
// ext_proc injection mode (the routes Atlas does not inject on turn it off),
// so an adapter's routes carry no per-filter config at all.
func httpFilters(maxSignedBody uint32, opts Options) []*hcmv3.HttpFilter {
	out := []*hcmv3.HttpFilter{corsFilter()}
	if opts.SignatureFilter == SignatureExtAuthz {
		out = append(out, extAuthzFilter(maxSignedBody))
	}
	out = append(out, extProcFilter(opts.Injection == InjectionExtProc))
	return append(out, routerFilter())
}

func extProcFilter(enabled bool) *hcmv3.HttpFilter {
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
		Disabled:   !enabled,
	}
}

// routeFilterConfigs enables, on one adapter's routes, the filters it needs:
// the verifier (and CORS) on signed adapters; nothing on the others (static
// credentials live in the cluster, and in ext_proc mode the filter is on by
// default and finds the adapter from the path).
func routeFilterConfigs(cfg *model.Config, a model.Adapter, opts Options) map[string]*anypb.Any {
	if a.StripeApp != nil {
		app, _ := cfg.StripeApp(a.StripeApp.Name)
		return signedFilterConfigs(a, app, opts)
	}
	return nil
}

// withoutExtProc turns ext_proc off on a route Atlas does not inject on
// (the apps server and the 404), when ext_proc mode turned it on by default.
func withoutExtProc(filters map[string]*anypb.Any, opts Options) map[string]*anypb.Any {
	if opts.Injection != InjectionExtProc {
		return filters
	}
	out := make(map[string]*anypb.Any, len(filters)+1)
	for k, v := range filters {
		out[k] = v
	}
	out[ExtProcFilterName] = mustAny(&routev3.FilterConfig{Disabled: true})
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
