// Package secretbox seals secret values for storage at rest with AES-256-GCM.
//
// A sealed value is
//
//	version (1 byte) | nonce (12 random bytes) | ciphertext | GCM tag (16 bytes)
//
// The secret's name (and the version byte) are the additional authenticated
// data, so a sealed value copied to another name, or with its version byte
// changed, fails to open instead of yielding a value under the wrong name.
// A fresh random nonce per Seal keeps nonces unique for far more values than
// a control plane ever stores under one key (NIST's 2^32 limit).
//
// The master key comes from LoadKey: ATLAS_MASTER_KEY, or a 0600 key file
// generated in the data directory. Nothing here logs or returns a secret in
// an error.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the master key length: AES-256.
const KeySize = 32

// Version1 is the first byte of every value sealed by this version.
const Version1 byte = 1

const nonceSize = 12

// ErrOpen is returned (wrapped) when a sealed value cannot be opened: the
// master key differs from the one that sealed it, or the value was altered
// or moved to another name.
var ErrOpen = errors.New("cannot decrypt sealed secret")

// Box seals and opens values with one master key. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: the master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts value for the secret called name.
func (b *Box) Seal(name string, value []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(value)+b.aead.Overhead())
	out[0] = Version1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secretbox: read a random nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:1+nonceSize], value, ad(Version1, name)), nil
}

// Open decrypts a value sealed for the secret called name.
func (b *Box) Open(name string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+b.aead.Overhead() {
		return nil, fmt.Errorf("%w %q: the stored value is truncated (%d bytes)", ErrOpen, name, len(sealed))
	}
	if v := sealed[0]; v != Version1 {
		return nil, fmt.Errorf("%w %q: unknown format version %d (written by a newer atlas? upgrade it)", ErrOpen, name, v)
	}
	value, err := b.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], ad(Version1, name))
	if err != nil {
		return nil, fmt.Errorf("%w %q: the master key is not the one it was sealed with (check ATLAS_MASTER_KEY or the master.key file), or the stored value was altered", ErrOpen, name)
	}
	return value, nil
}

// ad binds a sealed value to its format version and its secret's name.
func ad(version byte, name string) []byte {
	return append([]byte{version}, name...)
}
