package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/atlas-gateway/atlas/internal/datadir"
	"github.com/atlas-gateway/atlas/internal/secretbox"
	"github.com/atlas-gateway/atlas/internal/store"
)

// openStore opens the state store: PostgreSQL when storeURL is a postgres
// URL (several replicas share it), else the embedded SQLite file in dataDir.
func openStore(ctx context.Context, log *slog.Logger, dataDir, storeURL string) (store.Store, string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating the data directory %s: %w (pick another with --data-dir)", dataDir, err)
	}
	key, err := secretbox.LoadKey(dataDir)
	if err != nil {
		return nil, "", fmt.Errorf("loading the master key that encrypts stored secrets: %w", err)
	}
	opt := store.WithLogger(log.With("component", "store"))
	switch {
	case storeURL == "":
		path := datadir.DatabaseFile(dataDir)
		s, err := store.OpenSQLite(ctx, path, key, opt)
		return s, "sqlite " + path, err
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		s, err := store.OpenPostgres(ctx, storeURL, key, opt)
		return s, "postgres " + redactDSN(storeURL), err
	}
	return nil, "", fmt.Errorf("--store %q: use a postgres://user@host:port/db URL, or leave it empty for the embedded store in --data-dir", redactDSN(storeURL))
}

// redactDSN hides a password in a connection URL before it is logged.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	cred := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return dsn[:scheme+3] + user + ":REDACTED" + dsn[at:]
	}
	return dsn
}
