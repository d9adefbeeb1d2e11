package stripesig

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math"
	"sync"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may be from now, in
// either direction, when NewVerifier is given 0. It is Stripe's default.
const DefaultTolerance = 300 * time.Second

// Verifier checks signatures against a fixed set of signing secrets. It is
// immutable and safe for concurrent use; build a new one to rotate secrets.
type Verifier struct {
	secrets   [][]byte
	tolerance int64 // whole seconds
	// scratch pools keyed HMAC states and buffers so the hot path does not
	// allocate; a pooled value is owned by one call at a time.
	scratch sync.Pool
}

type scratch struct {
	macs    []hash.Hash // one per secret, same order
	sum     [sha256.Size]byte
	ts      [24]byte
	payload []byte // a payload rebuilt or copied from headers
}

// maxPooledPayload keeps one huge header from pinning memory in the pool.
const maxPooledPayload = 4 << 10

// NewVerifier returns a Verifier that accepts a signature made with any of
// secrets (more than one during a rotation). Secrets are copied. Any
// non-empty secret works; see SecretWarning for a sanity check. tolerance
// is in whole seconds; 0 means DefaultTolerance.
func NewVerifier(secrets [][]byte, tolerance time.Duration) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("stripesig: no signing secret configured; set the Stripe App's signing secret (absec_…)")
	}
	switch {
	case tolerance == 0:
		tolerance = DefaultTolerance
	case tolerance < time.Second:
		return nil, fmt.Errorf("stripesig: signature tolerance %v is below one second; use a positive number of seconds, or 0 for the default %v", tolerance, DefaultTolerance)
	}
	v := &Verifier{tolerance: int64(tolerance / time.Second)}
	for i, s := range secrets {
		if len(s) == 0 {
			return nil, fmt.Errorf("stripesig: signing secret %d of %d is empty; remove it or set the Stripe App's signing secret (absec_…)", i+1, len(secrets))
		}
		v.secrets = append(v.secrets, append([]byte(nil), s...))
	}
	v.scratch.New = func() any {
		s := &scratch{macs: make([]hash.Hash, len(v.secrets))}
		for i, k := range v.secrets {
			s.macs[i] = hmac.New(sha256.New, k)
		}
		return s
	}
	return v, nil
}

// Verify checks that header (the Stripe-Signature value) holds a v1
// signature of payload by one of the secrets, made within the tolerance of
// now. It returns nil or an *Error.
func (v *Verifier) Verify(payload []byte, header string, now time.Time) error {
	s := v.getScratch()
	defer v.putScratch(s)
	if err := v.verify(s, payload, header, now); err != nil {
		return err
	}
	return nil
}

// VerifyIdentity is Verify followed by extracting the signer from the
// verified payload, which must be a JSON object with non-empty string
// user_id and account_id.
func (v *Verifier) VerifyIdentity(payload []byte, header string, now time.Time) (Identity, error) {
	s := v.getScratch()
	defer v.putScratch(s)
	if err := v.verify(s, payload, header, now); err != nil {
		return Identity{}, err
	}
	id, err := identityOf(payload)
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}

func (v *Verifier) verify(s *scratch, payload []byte, header string, now time.Time) *Error {
	var h parsedHeader
	if err := h.parse(header); err != nil {
		return err
	}
	if len(payload) == 0 {
		return errPayloadMissing
	}
	// The clock is checked before the MACs: it is cheaper and rejects
	// replays of captured headers without any HMAC work.
	if skew := satSub(now.Unix(), h.ts); skew > v.tolerance || skew < -v.tolerance {
		return toleranceError(skew, v.tolerance)
	}
	for _, mac := range s.macs {
		mac.Reset()
		writeSigned(mac, h.ts, payload, &s.ts)
		sum := mac.Sum(s.sum[:0])
		for j := range h.n {
			if hmac.Equal(sum, h.sigs[j][:]) {
				return nil
			}
		}
	}
	return errSignatureInvalid
}

func (v *Verifier) getScratch() *scratch { return v.scratch.Get().(*scratch) }

func (v *Verifier) putScratch(s *scratch) {
	if cap(s.payload) > maxPooledPayload {
		s.payload = nil
	}
	v.scratch.Put(s)
}

// satSub is a - b clamped to ±MaxInt64, so that a hostile t cannot wrap the
// tolerance check around.
func satSub(a, b int64) int64 {
	d := a - b
	if (a^b)&(a^d) < 0 { // overflowed
		if a < 0 {
			return -math.MaxInt64
		}
		return math.MaxInt64
	}
	if d == math.MinInt64 {
		return -math.MaxInt64
	}
	return d
}
