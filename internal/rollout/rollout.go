// Package rollout publishes a new configuration to the Envoy fleet so that
// no request is ever forwarded without its credential, nor refused for want
// of one, while it changes.
//
// With static injection each adapter's credentials are credential_injector
// upstream filters in the adapter's own cluster, reading SDS secrets. A
// route that points at a cluster Envoy does not have yet answers 503, and a
// cluster whose secret has not arrived answers 401. So when the set of
// injected headers changes, Publish makes before it breaks:
//
//  1. the clusters and secrets of the old AND new adapters next to the OLD
//     routes; wait until every Envoy has ACKed the clusters and holds the
//     new secrets;
//  2. the NEW routes; wait for the ACK;
//  3. the exact new configuration (drops the clusters and secrets of
//     removed adapters).
//
// The listener is the same throughout (it does not depend on the adapters).
// Every other change is published in one step. The gateway and the scale
// benchmark both call Publish, so what is measured is what runs.
package rollout

import (
	"context"
	"strings"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// PhaseTimeout bounds how long one step waits for Envoys to confirm before
// it goes on (a stuck Envoy must not freeze the fleet).
const PhaseTimeout = 5 * time.Second

// Server is what Publish needs of the xDS server.
type Server interface {
	Publish(ctx context.Context, res *translate.Resources) (string, error)
	WaitAcked(ctx context.Context, version string, want xds.Want, timeout time.Duration) bool
}

// Wait records one step's wait for the fleet's ACKs.
type Wait struct {
	Version   string        `json:"version"`
	Took      time.Duration `json:"took"`
	Confirmed bool          `json:"confirmed"`
}

// Change is one configuration change: what is published now (Old as Prev)
// and what comes next (New as Next, already translated with Opts).
type Change struct {
	Opts translate.Options
	Old  *model.Config
	Prev *translate.Resources
	New  *model.Config
	Next *translate.Resources
}

// Phased reports whether c is published in three steps.
func (c Change) Phased() bool {
	return c.Opts.Injection == translate.InjectionStatic && c.Old != nil && c.Prev != nil && !sameInjectors(c.Old, c.New)
}

// Publish publishes c and returns the final version and the steps' waits.
func Publish(ctx context.Context, srv Server, c Change) (string, []Wait, error) {
	if !c.Phased() {
		v, err := srv.Publish(ctx, c.Next)
		return v, nil, err
	}
	union := transition(c.Prev, c.Next)
	var waits []Wait
	step := func(routes *translate.Resources, want xds.Want) error {
		res := *union
		res.Routes = routes.Routes
		v, err := srv.Publish(ctx, &res)
		if err != nil {
			return err
		}
		t := time.Now()
		ok := srv.WaitAcked(ctx, v, want, PhaseTimeout)
		waits = append(waits, Wait{Version: v, Took: time.Since(t), Confirmed: ok})
		return nil
	}
	first := xds.Want{resource.ClusterType: nil}
	if added := addedSecrets(c.Prev, union); len(added) > 0 {
		// Only when there is a secret to get: a state-of-the-world Envoy is
		// never told of a deletion, so it would never confirm a change to
		// secrets that only removed some.
		first[resource.SecretType] = added
	}
	if err := step(c.Prev, first); err != nil {
		return "", waits, err
	}
	if err := step(c.Next, xds.Want{resource.RouteType: nil}); err != nil {
		return "", waits, err
	}
	v, err := srv.Publish(ctx, c.Next)
	return v, waits, err
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

// transition is next with the clusters and secrets only prev has added, so
// every cluster and secret an old or a new route may use is there. It reuses
// the resources of prev and next as they are (no second translation, and the
// xDS server's diff sees the same objects again in the later steps).
func transition(prev, next *translate.Resources) *translate.Resources {
	u := *next
	u.Clusters = unionByName(next.Clusters, prev.Clusters)
	u.Secrets = unionByName(next.Secrets, prev.Secrets)
	return &u
}

// unionByName is first plus the resources of second whose names first lacks.
func unionByName(first, second []types.Resource) []types.Resource {
	have := make(map[string]bool, len(first))
	for _, r := range first {
		have[cache.GetResourceName(r)] = true
	}
	out := append([]types.Resource(nil), first...)
	for _, r := range second {
		if !have[cache.GetResourceName(r)] {
			out = append(out, r)
		}
	}
	return out
}

// addedSecrets lists the secrets of next that prev lacks: the ones the new
// routes need and Envoys do not hold yet. (Waiting for all 10k names of a
// large config would cost the wait loop more than the whole rollout.)
func addedSecrets(prev, next *translate.Resources) []string {
	had := make(map[string]bool, len(prev.Secrets))
	for _, s := range prev.Secrets {
		had[cache.GetResourceName(s)] = true
	}
	var names []string
	for _, s := range next.Secrets {
		if n := cache.GetResourceName(s); !had[n] {
			names = append(names, n)
		}
	}
	return names
}
