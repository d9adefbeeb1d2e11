package secretbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	box, err := New(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", nil},
		{"short", []byte("sk_test_123")},
		{"binary", []byte{0, 1, 2, 255}},
		{"large", bytes.Repeat([]byte("x"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := box.Seal("STRIPE_KEY", tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if sealed[0] != Version1 {
				t.Errorf("version byte = %d, want %d", sealed[0], Version1)
			}
			if len(tt.value) > 4 && bytes.Contains(sealed, tt.value) {
				t.Error("sealed value contains the plaintext")
			}
			got, err := box.Open("STRIPE_KEY", sealed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.value) {
				t.Errorf("Open = %q, want %q", got, tt.value)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	box, _ := New(testKey(1))
	a, _ := box.Seal("A", []byte("same"))
	b, _ := box.Seal("A", []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical: nonce reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	box, _ := New(testKey(1))
	other, _ := New(testKey(2))
	sealed, err := box.Seal("A", []byte("secret-value"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name    string
		box     *Box
		secret  string
		sealed  []byte
		wantMsg string
	}{
		{"moved to another name", box, "B", sealed, "master key"},
		{"other key", other, "A", sealed, "master key"},
		{"tampered ciphertext", box, "A", flip(len(sealed) - 1), "altered"},
		{"tampered nonce", box, "A", flip(1), "altered"},
		{"unknown version", box, "A", append([]byte{9}, sealed[1:]...), "version 9"},
		{"truncated", box, "A", sealed[:10], "truncated"},
		{"empty", box, "A", nil, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.secret, tt.sealed)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error leaks the value: %q", err)
			}
		})
	}
}

func TestNewRejectsBadKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded, want an error", n)
		}
	}
}
