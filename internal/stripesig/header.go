package stripesig

import (
	"crypto/sha256"
	"strings"
)

const (
	// MaxHeaderBytes caps the Stripe-Signature header. A real one is about
	// 80 bytes per secret; the cap bounds the work an attacker can cause.
	MaxHeaderBytes = 8 << 10
	// MaxSignatures caps the v1 elements. Stripe sends one per active secret
	// (two during a rotation), and each extra v1 costs comparisons per secret.
	MaxSignatures = 8
)

// Header is a parsed Stripe-Signature header.
type Header struct {
	// Timestamp is t, in Unix seconds.
	Timestamp int64
	// V1 holds the decoded v1 signatures, 32 bytes each, in header order.
	V1 [][]byte
}

// ParseHeader parses a Stripe-Signature header value.
//
// Like stripe-go and stripe-node it splits on "," and then on "=", trims
// nothing, and ignores elements whose key is not t or v1 (v0, unknown
// schemes, and " v1" with a leading space). Unlike them it rejects, with
// CodeSignatureMalformed: an element without "=" (stripe-go does too),
// including empty elements from a trailing comma; a missing, duplicated,
// signed, non-decimal or overflowing t (both SDKs take the last t, and
// stripe-node's parseInt accepts "12abc"); a v1 that is not exactly 64
// lowercase hex characters (stripe-go skips bad hex and accepts uppercase,
// stripe-node compares hex strings so uppercase never matches); no v1; more
// than MaxSignatures v1s; and a header over MaxHeaderBytes. Leading zeros in
// t are accepted and the signed string uses its canonical decimal form, as
// both SDKs do. An empty header is CodeSignatureMissing.
func ParseHeader(h string) (Header, error) {
	var p parsedHeader
	if err := p.parse(h); err != nil {
		return Header{}, err
	}
	out := Header{Timestamp: p.ts, V1: make([][]byte, p.n)}
	for i := range p.n {
		out.V1[i] = append([]byte(nil), p.sigs[i][:]...)
	}
	return out, nil
}

// parsedHeader is the allocation-free form used on the hot path: it lives
// on the caller's stack.
type parsedHeader struct {
	ts   int64
	n    int
	sigs [MaxSignatures][sha256.Size]byte
}

func (p *parsedHeader) parse(h string) *Error {
	if h == "" {
		return errSignatureMissing
	}
	if len(h) > MaxHeaderBytes {
		return errHeaderTooLong
	}
	seenT := false
	for rest, more := h, true; more; {
		var elem string
		elem, rest, more = strings.Cut(rest, ",")
		key, val, ok := strings.Cut(elem, "=")
		if !ok {
			return errNoEquals
		}
		switch key {
		case "t":
			if seenT {
				return errDupTimestamp
			}
			ts, ok := parseUnix(val)
			if !ok {
				return errBadTimestamp
			}
			p.ts, seenT = ts, true
		case "v1":
			if p.n == MaxSignatures {
				return errTooManyV1
			}
			if !decodeLowerHex(&p.sigs[p.n], val) {
				return errBadV1
			}
			p.n++
		}
	}
	if !seenT {
		return errNoTimestamp
	}
	if p.n == 0 {
		return errNoV1
	}
	return nil
}

// parseUnix accepts only ASCII digits: strconv.ParseInt would also take a
// sign, and a negative t is never something Stripe sends.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// decodeLowerHex is hex.Decode restricted to one canonical spelling, so that
// one signature has exactly one accepted header form.
func decodeLowerHex(dst *[sha256.Size]byte, s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := range dst {
		hi, lo := lowerHex[s[2*i]], lowerHex[s[2*i+1]]
		if hi|lo == 0xff {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// lowerHex maps '0'-'9' and 'a'-'f' to their value and every other byte to
// 0xff; a table keeps the per-request parse branch-free.
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()
