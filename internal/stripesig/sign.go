package stripesig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// AppSecretPrefix starts every Stripe App signing secret.
const AppSecretPrefix = "absec_"

// Sign returns a Stripe-Signature header value "t=<unix>,v1=<hex>" for
// payload, as fetchStripeSignature() would produce it with secret at time t.
// It exists for tests, tools and clients of Atlas; the gateway only
// verifies. A t before 1970 yields a header that ParseHeader rejects.
func Sign(payload, secret []byte, t time.Time) string {
	ts := t.Unix()
	var sum [sha256.Size]byte
	mac := hmac.New(sha256.New, secret)
	writeSigned(mac, ts, payload, new([24]byte))
	mac.Sum(sum[:0])
	b := make([]byte, 0, len("t=,v1=")+20+hex.EncodedLen(len(sum)))
	b = append(b, "t="...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, ",v1="...)
	b = hex.AppendEncode(b, sum[:])
	return string(b)
}

// writeSigned feeds "<t>.<payload>" to mac. t is written in canonical
// decimal, whatever its spelling in the header, because that is what both
// SDKs sign. tsBuf is scratch space the caller owns, so this does not
// allocate.
func writeSigned(mac hash.Hash, t int64, payload []byte, tsBuf *[24]byte) {
	b := strconv.AppendInt(tsBuf[:0], t, 10)
	b = append(b, '.')
	mac.Write(b)
	mac.Write(payload)
}

// SecretWarning returns a reason to double-check a configured signing
// secret, or "" if it looks like one. Verification works with any non-empty
// secret; this is for configuration validation to surface likely mistakes
// (a webhook secret whsec_… instead of the app secret, a stray newline).
// The result never contains the secret.
func SecretWarning(secret []byte) string {
	switch {
	case len(secret) == 0:
		return "the Stripe App signing secret is empty"
	case len(bytes.TrimSpace(secret)) != len(secret):
		return "the Stripe App signing secret starts or ends with whitespace; this is usually a stray newline from a file or an environment variable"
	case !bytes.HasPrefix(secret, []byte(AppSecretPrefix)):
		return "the Stripe App signing secret does not start with " + AppSecretPrefix + "; copy the app's signing secret from the Stripe Dashboard (Apps > your app > Signing secret), not a webhook (whsec_) or API (sk_) key"
	}
	return ""
}
