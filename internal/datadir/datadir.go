// Package datadir knows where Atlas keeps its state and the files the server
// and the mom CLI share: the admin token and the master key. Both sides use
// these functions, so they always agree.
package datadir

import (
	"os"
	"path/filepath"
)

// EnvDir overrides the default data directory.
const EnvDir = "ATLAS_DATA_DIR"

// EnvAdminToken, when set, is the admin API token (server and mom).
const EnvAdminToken = "ATLAS_ADMIN_TOKEN"

// Default returns $ATLAS_DATA_DIR, else $XDG_DATA_HOME/atlas, else
// ~/.local/share/atlas, else ./.atlas.
func Default() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "atlas")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "atlas")
	}
	return ".atlas"
}

// TokenFile is where the server writes a generated admin token (0600) and
// where mom reads it.
func TokenFile(dir string) string { return filepath.Join(dir, "admin-token") }

// DatabaseFile is the embedded store's single file.
func DatabaseFile(dir string) string { return filepath.Join(dir, "atlas.db") }
