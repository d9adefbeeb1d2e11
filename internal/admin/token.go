package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

// LoadOrCreateToken returns the admin token: $ATLAS_ADMIN_TOKEN when set;
// else the content of the token file in dataDir, which must not be readable
// by group or others; else a new random token, written to that file (0600,
// directory 0700), in which case generated is true. The mom CLI reads the
// same file, so a local client needs no configuration.
func LoadOrCreateToken(dataDir string) (token string, generated bool, err error) {
	// Trimmed like mom trims what it sends: a token from a file-based
	// Kubernetes secret often ends in a newline.
	if t := strings.TrimSpace(os.Getenv(datadir.EnvAdminToken)); t != "" {
		return t, false, nil
	}
	path := datadir.TokenFile(dataDir)
	t, err := readToken(path)
	if err == nil {
		return t, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	t, err = newToken()
	if err != nil {
		return "", false, err
	}
	if err := writeTokenFile(path, t); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			t, err := readToken(path)
			return t, false, err
		}
		return "", false, err
	}
	return t, true, nil
}

// readToken reads a token file, refusing one that others can read.
func readToken(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("admin token file %s is readable by group or others (mode %04o); run `chmod 600 %s`, or set %s instead", path, perm, path, datadir.EnvAdminToken)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	t := strings.TrimSpace(string(data))
	if t == "" {
		return "", fmt.Errorf("admin token file %s is empty; delete it so that a new token is generated, or set %s", path, datadir.EnvAdminToken)
	}
	return t, nil
}

// newToken is 32 random bytes, base64url without padding.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate an admin token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeTokenFile creates path with mode 0600 holding token, atomically and
// without replacing an existing file (then the error wraps fs.ErrExist).
func writeTokenFile(path, token string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the data directory for the admin token: %w (set --data-dir to a writable directory)", err)
	}
	tmp, err := os.CreateTemp(dir, ".admin-token-*") // mode 0600
	if err != nil {
		return fmt.Errorf("write the admin token file: %w (set --data-dir to a writable directory)", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write the admin token file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write the admin token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the admin token file: %w", err)
	}
	// A hard link publishes the complete file and fails if one exists.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("write the admin token file %s: %w", path, err)
	}
	return nil
}
