package xds

import (
	"fmt"
	"log/slog"
)

// cacheLogger adapts slog to go-control-plane's logger. The cache is chatty,
// so its info lines go to debug.
type cacheLogger struct{ l *slog.Logger }

func (c cacheLogger) Debugf(f string, a ...any) {
	c.l.Debug(fmt.Sprintf(f, a...), "component", "xds-cache")
}
func (c cacheLogger) Infof(f string, a ...any) {
	c.l.Debug(fmt.Sprintf(f, a...), "component", "xds-cache")
}
func (c cacheLogger) Warnf(f string, a ...any) {
	c.l.Warn(fmt.Sprintf(f, a...), "component", "xds-cache")
}
func (c cacheLogger) Errorf(f string, a ...any) {
	c.l.Error(fmt.Sprintf(f, a...), "component", "xds-cache")
}
