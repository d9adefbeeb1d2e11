package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// phaseTimeout bounds how long a phased publish waits for Envoys to confirm
// one step before it goes on (a stuck Envoy must not freeze the fleet).
const phaseTimeout = 5 * time.Second

// publishOrdered makes before it breaks when static injection changes the
// listener's credential_injector filters. A route that enables a filter the
// listener does not have yet would be served by the old filter chain and
// forward the request without its credential; a listener without a filter
// that an old route still enables would do the same. So:
//
//  1. publish a listener with the filters of the old AND new adapters (and
//     their secrets and clusters) next to the OLD routes; wait for every
//     Envoy to ACK it and to hold the new secrets;
//  2. publish the NEW routes on that listener; wait for the ACK;
//  3. publish the exact new configuration (drops unused filters).
//
// Other changes are published in one step.
func (g *gateway) publishOrdered(ctx context.Context, old *model.Config, prev, next *translate.Resources, cfg *model.Config) (string, error) {
	if g.opts.Injection != translate.InjectionStatic || old == nil || prev == nil || sameInjectors(old, cfg) {
		return g.xds.Publish(ctx, next)
	}
	union, err := translate.Translate(unionConfig(old, cfg), g.opts)
	if err != nil {
		return "", fmt.Errorf("translating the transition configuration: %w", err)
	}
	step1 := *union
	step1.Routes = prev.Routes
	v1, err := g.xds.Publish(ctx, &step1)
	if err != nil {
		return "", err
	}
	if !g.xds.WaitAcked(ctx, v1, xds.Want{resource.ListenerType: nil, resource.SecretType: secretNames(union)}, phaseTimeout) {
		g.log.Warn("not every Envoy confirmed the new listener in time; publishing the new routes anyway", "version", v1)
	}
	step2 := *union
	step2.Routes = next.Routes
	v2, err := g.xds.Publish(ctx, &step2)
	if err != nil {
		return "", err
	}
	if !g.xds.WaitAcked(ctx, v2, xds.Want{resource.RouteType: nil}, phaseTimeout) {
		g.log.Warn("not every Envoy confirmed the new routes in time", "version", v2)
	}
	return g.xds.Publish(ctx, next)
}

// injectorKeys lists the credential_injector filters static mode builds.
func injectorKeys(cfg *model.Config) map[string]bool {
	keys := map[string]bool{}
	for _, a := range cfg.Adapters {
		if a.StripeApp != nil {
			continue // verified adapters are injected by the verifier
		}
		for _, h := range a.Headers {
			keys[a.Name+"\x00"+strings.ToLower(h.Name)] = true
		}
	}
	return keys
}

func sameInjectors(a, b *model.Config) bool {
	ka, kb := injectorKeys(a), injectorKeys(b)
	if len(ka) != len(kb) {
		return false
	}
	for k := range ka {
		if !kb[k] {
			return false
		}
	}
	return true
}

// unionConfig is next plus the adapters only old has, so the transition
// listener keeps every filter an old or a new route may enable.
func unionConfig(old, next *model.Config) *model.Config {
	u := *next
	u.Adapters = append([]model.Adapter(nil), next.Adapters...)
	for _, a := range old.Adapters {
		if _, ok := next.Adapter(a.Name); !ok {
			u.Adapters = append(u.Adapters, a)
		}
	}
	return &u
}

func secretNames(r *translate.Resources) []string {
	names := make([]string, 0, len(r.Secrets))
	for _, s := range r.Secrets {
		names = append(names, cache.GetResourceName(s))
	}
	return names
}
