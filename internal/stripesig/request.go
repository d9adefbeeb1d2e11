package stripesig

import (
	"time"
	"unicode/utf8"
)

// Request is what a signed Stripe App request carries, as read by an
// ext_proc or ext_authz server.
type Request struct {
	Signature  string // Stripe-Signature
	StripeUser string // stripe-user: signed JSON {"user_id":…,"account_id":…}
	UserID     string // stripe-user-id
	AccountID  string // stripe-account-id
	// Body is the raw request body. Set it only on routes that sign the
	// body (POST, PUT, PATCH); it then is the signed payload. Its size is
	// the caller's to bound (Envoy's max_request_bytes).
	Body []byte
}

// VerifyRequest picks the signed payload, verifies it, extracts the signer
// and checks that every other identity claim in the request agrees.
//
// The payload is, in order of precedence: a non-empty Body; else
// StripeUser; else UserPayload(UserID, AccountID). Then:
//   - a non-empty UserID or AccountID must equal the verified identity;
//   - with a Body, a non-empty StripeUser must name the verified identity.
//
// A disagreement is CodeIdentityMismatch, so an upstream that reads those
// headers can never act for someone other than the signer.
func (v *Verifier) VerifyRequest(r Request, now time.Time) (Identity, error) {
	s := v.getScratch()
	defer v.putScratch(s)

	var payload []byte
	switch {
	case len(r.Body) > 0:
		payload = r.Body
	case r.StripeUser != "":
		// Copied into pooled scratch rather than converted, which would
		// allocate on every request.
		s.payload = append(s.payload[:0], r.StripeUser...)
		payload = s.payload
	case r.UserID != "" && r.AccountID != "":
		if !utf8.ValidString(r.UserID) || !utf8.ValidString(r.AccountID) {
			return Identity{}, errIDHeadersNotUTF8
		}
		s.payload = appendUserPayload(s.payload[:0], r.UserID, r.AccountID)
		payload = s.payload
	case r.UserID != "":
		return Identity{}, errUserIDHeaderOnly
	case r.AccountID != "":
		return Identity{}, errAccountIDHeaderOnly
	}

	if err := v.verify(s, payload, r.Signature, now); err != nil {
		return Identity{}, err
	}
	uid, aid, err := scanIdentity(payload)
	if err != nil {
		return Identity{}, err
	}
	if r.UserID != "" && r.UserID != string(uid) {
		return Identity{}, errUserIDHeaderMismatch
	}
	if r.AccountID != "" && r.AccountID != string(aid) {
		return Identity{}, errAccountIDHeaderMismatch
	}
	if len(r.Body) > 0 && r.StripeUser != "" {
		su, sa, err := scanIdentity([]byte(r.StripeUser))
		if err != nil || string(su) != string(uid) || string(sa) != string(aid) {
			return Identity{}, errStripeUserMismatch
		}
	}
	// newIdentity copies, so the Identity does not alias pooled scratch.
	return newIdentity(uid, aid), nil
}
