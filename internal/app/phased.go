package app

import (
	"context"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/rollout"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// publishOrdered publishes next through rollout (make before break when
// static injection changes the listener) and logs unconfirmed steps.
func (g *gateway) publishOrdered(ctx context.Context, old *model.Config, prev, next *translate.Resources, cfg *model.Config) (string, error) {
	v, waits, err := rollout.Publish(ctx, g.xds, rollout.Change{Opts: g.opts, Old: old, Prev: prev, New: cfg, Next: next})
	for _, w := range waits {
		if !w.Confirmed {
			g.log.Warn("not every Envoy confirmed a step of the configuration change in time; going on", "version", w.Version, "waited", w.Took.String())
		}
	}
	return v, err
}
