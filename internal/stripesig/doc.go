// Package stripesig signs and verifies Stripe App request signatures.
//
// A Stripe App frontend signs requests to its backend with
// fetchStripeSignature() and sends
//
//	Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]
//
// where each v1 is lowercase hex(HMAC-SHA256(secret, "<t>.<payload>")), one
// per signing secret that is active (two during a secret rotation). The
// signed payload is one of:
//
//  1. the `stripe-user` header, byte for byte: {"user_id":"…","account_id":"…"};
//  2. that same JSON rebuilt from the `stripe-user-id` and
//     `stripe-account-id` headers, exactly as JSON.stringify writes it
//     (see UserPayload);
//  3. the raw request body of a POST/PUT/PATCH, byte for byte (extra keys
//     first, then user_id and account_id).
//
// The contract:
//
//   - Pure: no I/O, no logging and no clock. Callers pass now, so tests and
//     replays are deterministic.
//   - Payload bytes are verified exactly as received and are never
//     re-encoded: a payload that differs by one byte, one space or one key
//     position from what was signed is rejected.
//   - Only v1 counts. v0 and unknown schemes are ignored. Every v1 is tried
//     against every configured secret and compared in constant time.
//   - The timestamp must be within the tolerance (300 s by default) in both
//     directions: too old is a replay, too far ahead is a clock problem or a
//     pre-signed request, and neither stripe-go nor stripe-node rejects the
//     latter.
//   - The header is parsed the way Stripe's SDKs do (split on "," then "=",
//     no trimming), but stricter: see ParseHeader.
//   - The Identity returned by VerifyIdentity and VerifyRequest comes only
//     from the verified bytes; it is what may be used to set Stripe-Account.
//   - Every failure is an *Error whose Code is stable (HTTP responses and
//     metrics key on it) and whose Message says what was wrong and how to
//     fix it. Messages never contain a secret, an expected signature or
//     request bytes.
//
// A Verifier is immutable and safe for concurrent use. It runs for every
// signed request, so it keeps HMAC states in a pool: Verify does not
// allocate, and VerifyIdentity and VerifyRequest allocate once, for the
// identity's strings.
package stripesig
