package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/redact"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// gateway applies configurations: one model feeds Envoy (through xDS) and
// the ext_proc service, so a change reaches both.
type gateway struct {
	log     *slog.Logger
	file    string
	opts    translate.Options
	xds     *xds.Server
	extproc *extproc.Server
	authz   *extauthz.Server
	// redact knows the current secret values, for forwarded Envoy logs.
	redact redact.Redactor

	mu sync.Mutex // serialises reloads
}

// apply translates cfg and publishes it. On error nothing changes.
func (g *gateway) apply(ctx context.Context, cfg *model.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	start := time.Now()
	res, err := translate.Translate(cfg, g.opts)
	if err != nil {
		return fmt.Errorf("translating the configuration: %w", err)
	}
	g.redact.Set(secretValues(cfg))
	if err := g.extproc.Update(cfg); err != nil {
		return err
	}
	if err := g.authz.Update(cfg); err != nil {
		return err
	}
	version, err := g.xds.Publish(ctx, res)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		g.log.Warn(w)
	}
	g.log.Info("configuration applied", "version", version, "adapters", len(cfg.Adapters), "took", time.Since(start).String())
	return nil
}

// reload re-reads the file; an invalid edit is reported and the last good
// configuration keeps serving.
func (g *gateway) reload(ctx context.Context) {
	cfg, err := config.Load(g.file, config.Options{})
	if err != nil {
		g.log.Error("the edited configuration is invalid; the last good configuration keeps serving. Fix the file and save again", "file", g.file, "problems", err.Error())
		return
	}
	if err := g.apply(ctx, cfg); err != nil {
		g.log.Error("applying the edited configuration failed; the last good configuration keeps serving", "file", g.file, "error", err)
	}
}

// secretValues lists every injected header value, and the credential part
// after a scheme such as "Bearer ", so either form is redacted.
func secretValues(cfg *model.Config) []string {
	var out []string
	for _, a := range cfg.Adapters {
		for _, h := range a.Headers {
			out = append(out, h.Value)
			if _, cred, ok := strings.Cut(h.Value, " "); ok {
				out = append(out, cred)
			}
		}
	}
	for _, app := range cfg.StripeApps {
		out = append(out, app.SigningSecrets...)
	}
	return out
}
