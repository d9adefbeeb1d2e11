package store

import (
	"io"
	"log/slog"
)

// Option configures OpenSQLite and OpenPostgres.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger sets where the store reports what it recovers from by itself,
// such as a dropped PostgreSQL LISTEN connection. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
