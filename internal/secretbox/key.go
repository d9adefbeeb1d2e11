package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvMasterKey, when set, holds the master key as base64 or hex of 32 bytes.
const EnvMasterKey = "ATLAS_MASTER_KEY"

// KeyFileName is the generated key file inside the data directory.
const KeyFileName = "master.key"

// KeyFile returns the path of the generated master key file.
func KeyFile(dataDir string) string { return filepath.Join(dataDir, KeyFileName) }

// LoadKey returns the master key: ATLAS_MASTER_KEY when set, else the key
// in <dataDir>/master.key, which is generated (32 random bytes, base64, mode
// 0600 in a 0700 directory) the first time. A key file readable by group or
// others is refused rather than used, since it decrypts every secret.
func LoadKey(dataDir string) ([]byte, error) {
	if v, ok := os.LookupEnv(EnvMasterKey); ok {
		key, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMasterKey, err)
		}
		return key, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("no master key: set %s or give a data directory for %s", EnvMasterKey, KeyFileName)
	}
	key, err := readKeyFile(KeyFile(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(dataDir)
	}
	return key, err
}

// ParseKey decodes a master key written as hex or base64 (standard or URL
// alphabet, padded or not) of exactly 32 bytes. Surrounding whitespace is
// ignored. The error never contains the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the master key is empty; generate one with `openssl rand -base64 32`")
	}
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) == KeySize {
				return key, nil
			}
			return nil, fmt.Errorf("the master key decodes (base64) to %d bytes, want %d; generate one with `openssl rand -base64 32`", len(key), KeySize)
		}
	}
	return nil, fmt.Errorf("the master key (%d characters) is neither hex (64 characters) nor base64 of %d bytes; generate one with `openssl rand -base64 32`", len(s), KeySize)
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s is not a regular file; remove it to generate a new key, or set %s", path, EnvMasterKey)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key %s has mode %04o, so users other than its owner can read or change it; fix it with `chmod 600 %s`", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if len(b) == KeySize { // raw bytes; an encoded key is never 32 characters long
		return b, nil
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new key to a temporary file and links it into
// place, so a concurrent starter never reads a half-written key and two
// starters racing agree on one key (the loser reads the winner's).
func createKeyFile(dataDir string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory for the master key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".master.key-*")
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod guards against a
	// platform or umask doing otherwise.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	path := KeyFile(dataDir)
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("install master key at %s: %w", path, err)
	}
	if err := syncDir(dataDir); err != nil {
		return nil, fmt.Errorf("sync data directory after creating the master key: %w", err)
	}
	return key, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
