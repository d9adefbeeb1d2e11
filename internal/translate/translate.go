// Package translate turns a validated model.Config into Envoy xDS resources.
//
// Translate is a pure function: the same config and options always give the
// same resources, it performs no I/O, and it never mutates its input. It is
// tested with golden files (testdata/in → testdata/out, regenerated with
// `go test ./internal/translate -update`).
//
// Secrets (injected header values) only ever appear in SDS Secret resources,
// never in listeners, routes or clusters, so Envoy's config dump redacts them.
package translate

import (
	"fmt"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"

	"github.com/atlas-gateway/atlas/internal/model"
)

// Injection selects how adapter headers reach the upstream request.
type Injection string

const (
	// InjectionStatic uses Envoy's credential_injector, as an upstream
	// filter in each adapter's cluster, with SDS secrets: no extra hop per
	// request.
	InjectionStatic Injection = "static"
	// InjectionExtProc asks Atlas's ext_proc service for header mutations.
	InjectionExtProc Injection = "extproc"
)

// Well-known resource names shared with the bootstrap and the ext_proc server.
const (
	ListenerName = "atlas_ingress"
	RouteName    = "atlas_routes"
	// ControlPlaneCluster is the bootstrap's static cluster that reaches the
	// Atlas gRPC server (xDS and ext_proc are served on the same port).
	ControlPlaneCluster = "atlas_control_plane"
	// AdapterMetadataKey is the gRPC initial-metadata key that tells the
	// ext_proc server which adapter a stream belongs to, on signed routes.
	// Without it the server reads the adapter from the (normalised) path
	// Envoy routed on, RoutePrefix + name.
	AdapterMetadataKey = "x-atlas-adapter"
	// RoutePrefix is where adapters are served: RoutePrefix + name + "/…".
	RoutePrefix = "/v1/apis/http/"
)

// DefaultSystemCAFile is the Debian/Ubuntu/Alpine system trust bundle.
const DefaultSystemCAFile = "/etc/ssl/certs/ca-certificates.crt"

// Options are the deployment choices that are not part of the Atlas file.
type Options struct {
	// Injection is the header injection path; empty means static.
	Injection Injection
	// ListenAddress is the ingress listener's IP; empty means 0.0.0.0.
	ListenAddress string
	// SystemCAFile is the trust bundle path on the Envoy host used for https
	// upstreams without a custom CA; empty means DefaultSystemCAFile.
	SystemCAFile string
	// SignatureFilter verifies Stripe App signatures; empty means extproc.
	SignatureFilter SignatureFilter
	// AppsAddress is the IP:port of Atlas's apps server (Secret Store,
	// OAuth broker), reached through the AppsCluster; empty means no apps
	// routes (see apps.go).
	AppsAddress string
}

// Resources are the Envoy resources for one snapshot, by xDS type.
type Resources struct {
	Listeners []types.Resource
	Routes    []types.Resource
	Clusters  []types.Resource
	Secrets   []types.Resource
}

// Translate builds every Envoy resource for cfg.
func Translate(cfg *model.Config, opts Options) (*Resources, error) {
	if cfg == nil {
		return nil, fmt.Errorf("translate: nil config")
	}
	opts = opts.withDefaults()
	if opts.Injection != InjectionStatic && opts.Injection != InjectionExtProc {
		return nil, fmt.Errorf("translate: unknown injection mode %q: use %q or %q", opts.Injection, InjectionStatic, InjectionExtProc)
	}
	if opts.SignatureFilter != SignatureExtProc && opts.SignatureFilter != SignatureExtAuthz {
		return nil, fmt.Errorf("translate: unknown signature filter %q: use %q or %q", opts.SignatureFilter, SignatureExtProc, SignatureExtAuthz)
	}
	for _, a := range cfg.Adapters {
		if a.StripeApp != nil {
			if _, ok := cfg.StripeApp(a.StripeApp.Name); !ok {
				return nil, fmt.Errorf("translate: adapter %q names StripeApp %q, which is not in the configuration", a.Name, a.StripeApp.Name)
			}
		}
	}
	clusters, clusterOf := buildClusters(cfg.Adapters, opts)
	if apps, err := appsCluster(opts); err != nil {
		return nil, err
	} else if apps != nil {
		clusters = append(clusters, apps)
	}
	lis, err := buildListener(cfg, opts)
	if err != nil {
		return nil, err
	}
	rc, err := buildRoutes(cfg, clusterOf, opts)
	if err != nil {
		return nil, err
	}
	res := &Resources{
		Listeners: []types.Resource{lis},
		Routes:    []types.Resource{rc},
		Clusters:  clusters,
	}
	if opts.Injection == InjectionStatic {
		res.Secrets = buildSecrets(unsigned(cfg.Adapters))
	}
	return res, nil
}

func (o Options) withDefaults() Options {
	if o.Injection == "" {
		o.Injection = InjectionStatic
	}
	if o.ListenAddress == "" {
		o.ListenAddress = "0.0.0.0"
	}
	if o.SignatureFilter == "" {
		o.SignatureFilter = SignatureExtProc
	}
	if o.SystemCAFile == "" {
		o.SystemCAFile = DefaultSystemCAFile
	}
	return o
}

// unsigned returns the adapters without spec.stripeApp: on signed adapters
// the verifier injects the credentials.
func unsigned(adapters []model.Adapter) []model.Adapter {
	out := make([]model.Adapter, 0, len(adapters))
	for _, a := range adapters {
		if a.StripeApp == nil {
			out = append(out, a)
		}
	}
	return out
}
