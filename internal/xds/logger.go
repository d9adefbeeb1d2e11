package xds

import (
	"context"
	"fmt"
	"log/slog"
)

// cacheLogger adapts slog to go-control-plane's logger. The cache is chatty
// (its lines can list every resource name of a 10k-adapter snapshot), so its
// info and warn lines go to debug — "not responding, names not listed" is a
// normal ADS state, not a problem — and nothing is formatted unless debug
// logging is on.
type cacheLogger struct{ l *slog.Logger }

func (c cacheLogger) debug(f string, a []any) {
	if c.l.Enabled(context.Background(), slog.LevelDebug) {
		c.l.Debug(fmt.Sprintf(f, a...), "component", "xds-cache")
	}
}

func (c cacheLogger) Debugf(f string, a ...any) { c.debug(f, a) }
func (c cacheLogger) Infof(f string, a ...any)  { c.debug(f, a) }
func (c cacheLogger) Warnf(f string, a ...any)  { c.debug(f, a) }
func (c cacheLogger) Errorf(f string, a ...any) {
	c.l.Error(fmt.Sprintf(f, a...), "component", "xds-cache")
}
