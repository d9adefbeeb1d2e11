package main

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

// publishOrdered mirrors internal/app's gateway.publishOrdered (commit
// 19ba4cc, "static injection makes before it breaks"), which is unexported:
// when static injection changes the listener's credential filters, Atlas
// publishes (1) the union listener with the old routes and waits for every
// Envoy to ACK it and its secrets, (2) the new routes and waits again,
// (3) the exact new configuration. Keep it in step with internal/app.
const phaseTimeout = 5 * time.Second

type phaseWait struct {
	Version   string  `json:"version"`
	MS        float64 `json:"ms"`
	Confirmed bool    `json:"confirmed"`
}

func publishOrdered(ctx context.Context, srv *xds.Server, opts translate.Options, old *model.Config, prev, next *translate.Resources, cfg *model.Config) (string, []phaseWait, error) {
	if sameInjectors(old, cfg) {
		v, err := srv.Publish(ctx, next)
		return v, nil, err
	}
	union, err := translate.Translate(unionConfig(old, cfg), opts)
	if err != nil {
		return "", nil, fmt.Errorf("translating the transition configuration: %w", err)
	}
	var waits []phaseWait
	wait := func(v string, want xds.Want) {
		t := time.Now()
		ok := srv.WaitAcked(ctx, v, want, phaseTimeout)
		waits = append(waits, phaseWait{Version: v, MS: ms(time.Since(t)), Confirmed: ok})
	}
	step1 := *union
	step1.Routes = prev.Routes
	v1, err := srv.Publish(ctx, &step1)
	if err != nil {
		return "", nil, err
	}
	wait(v1, xds.Want{resource.ListenerType: nil, resource.SecretType: secretNames(union)})
	step2 := *union
	step2.Routes = next.Routes
	v2, err := srv.Publish(ctx, &step2)
	if err != nil {
		return "", nil, err
	}
	wait(v2, xds.Want{resource.RouteType: nil})
	v, err := srv.Publish(ctx, next)
	return v, waits, err
}

func injectorKeys(cfg *model.Config) map[string]bool {
	keys := map[string]bool{}
	for _, a := range cfg.Adapters {
		if a.StripeApp != nil {
			continue
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
