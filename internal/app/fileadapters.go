package app

import (
	"strings"
	"time"

	"github.com/atlas-gateway/atlas/internal/admin"
	"github.com/atlas-gateway/atlas/internal/config"
)

// fileAdapters describes the file's adapters for the admin API with header
// values as templates: every reference resolves to its own literal text, so
// nothing is expanded and no secret can leak into a response.
func (g *gateway) fileAdapters() []admin.FileAdapter {
	raw := g.fileConfig()
	literal := func(prefix string) config.LookupEnv {
		return func(name string) (string, bool) { return "${{ " + prefix + name + " }}", true }
	}
	cfg, err := config.Parse(g.file, raw, config.Options{LookupEnv: literal(""), LookupSecret: literal("secret:")})
	if err != nil {
		return nil // the last good configuration is still served; Get/List show none from an invalid file
	}
	out := make([]admin.FileAdapter, 0, len(cfg.Adapters))
	for _, a := range cfg.Adapters {
		fa := admin.FileAdapter{
			Name:      a.Name,
			BaseURL:   a.Upstream.Scheme + "://" + a.Upstream.HostHeader() + a.Upstream.BasePath,
			CAPEM:     a.Upstream.CAPEM,
			Source:    a.Source,
			UpdatedAt: g.fileLoadedAt(),
		}
		for _, h := range a.Headers {
			fa.Headers = append(fa.Headers, admin.Header{Name: h.Name, Template: h.Value})
		}
		out = append(out, fa)
	}
	return out
}

func (g *gateway) fileLoadedAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.loadedAt
}

// isAPISource tells API adapters (config.ParseWithAPI sources) from file ones.
func isAPISource(source string) bool { return strings.HasPrefix(source, "api adapter ") }
