package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/atlas-gateway/atlas/internal/apps"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/metrics"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/oauth"
	"github.com/atlas-gateway/atlas/internal/redact"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// gateway applies configurations: one model, built from the file and the
// store, feeds Envoy (through xDS) and the ext_proc/ext_authz services, so a
// change reaches all of them.
type gateway struct {
	log     *slog.Logger
	file    string
	opts    translate.Options
	xds     *xds.Server
	extproc *extproc.Server
	authz   *extauthz.Server
	store   store.Store
	// apps is the apps server (Secret Store, OAuth); nil when it is off.
	apps *apps.Server
	// oauth is the OAuth broker mounted on apps; nil when apps is.
	oauth *oauth.Broker
	// reloads counts loads by trigger and result (internal/metrics).
	reloads interface{ Reload(trigger, result string) }
	// redact knows the current secret values, for forwarded Envoy logs.
	redact redact.Redactor

	mu       sync.Mutex // serialises loads and applies
	fileRaw  []byte     // the file as last read
	loadedAt time.Time  // when it was read
	current  *model.Config
	lastRes  *translate.Resources // what current was published as
}

// load reads the file and the store's adapters and secrets into a model.
func (g *gateway) load(ctx context.Context) (*model.Config, error) {
	raw, err := os.ReadFile(g.file)
	if err != nil {
		return nil, fmt.Errorf("reading the Atlas configuration: %w", err)
	}
	api, err := g.store.ListAdapters(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading adapters from the store: %w", err)
	}
	cfg, err := config.ParseWithAPI(g.file, raw, apiAdapters(api), g.configOptions(ctx))
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.fileRaw, g.loadedAt = raw, time.Now().UTC()
	g.mu.Unlock()
	return cfg, nil
}

// validate checks the configuration the store would hold with api as its
// adapters, against the file as last read (the admin API's Apply/Delete).
func (g *gateway) validate(ctx context.Context, api []store.Adapter) error {
	g.mu.Lock()
	raw := g.fileRaw
	g.mu.Unlock()
	_, err := config.ParseWithAPI(g.file, raw, apiAdapters(api), g.configOptions(ctx))
	return err
}

func (g *gateway) configOptions(ctx context.Context) config.Options {
	return config.Options{LookupSecret: func(name string) (string, bool) {
		v, err := g.store.GetSecret(ctx, name)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				g.log.Warn("reading a stored secret failed", "secret", name, "error", err)
			}
			return "", false
		}
		return string(v), true
	}}
}

func apiAdapters(in []store.Adapter) []config.APIAdapter {
	out := make([]config.APIAdapter, len(in))
	for i, a := range in {
		out[i] = config.APIAdapter{Name: a.Name, Document: a.Document}
	}
	return out
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
	if g.apps != nil {
		if err := g.apps.Update(cfg); err != nil {
			return err
		}
		g.oauth.Update(cfg) // the providers switch in the same apply as their apps
	}
	version, err := g.publishOrdered(ctx, g.current, g.lastRes, res, cfg)
	if err != nil {
		return err
	}
	g.current, g.lastRes = cfg, res
	for _, w := range cfg.Warnings {
		g.log.Warn(w)
	}
	g.log.Info("configuration applied", "version", version, "adapters", len(cfg.Adapters), "took", time.Since(start).String())
	return nil
}

// reload rebuilds the model after a file edit or a store change; an invalid
// result is reported and the last good configuration keeps serving.
func (g *gateway) reload(ctx context.Context, why string) {
	cfg, err := g.load(ctx)
	if err != nil {
		g.reloads.Reload(why, metrics.ResultInvalid)
		g.log.Error("the edited configuration is invalid; the last good configuration keeps serving. Fix it and save again",
			"trigger", why, "file", g.file, "problems", err.Error())
		return
	}
	if err := g.apply(ctx, cfg); err != nil {
		g.reloads.Reload(why, metrics.ResultFailed)
		g.log.Error("applying the edited configuration failed; the last good configuration keeps serving", "trigger", why, "error", err)
		return
	}
	g.reloads.Reload(why, metrics.ResultSuccess)
}

// fileAdapter reports whether name is an adapter of the file, and where.
func (g *gateway) fileAdapter(name string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil {
		return "", false
	}
	a, ok := g.current.Adapter(name)
	if !ok || isAPISource(a.Source) {
		return "", false
	}
	return a.Source, true
}

func (g *gateway) fileConfig() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]byte(nil), g.fileRaw...)
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
		if app.AppKey != "" {
			out = append(out, app.AppKey)
		}
	}
	return out
}
