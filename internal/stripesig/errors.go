package stripesig

import (
	"errors"
	"strconv"
)

// Code classifies a verification failure. The values are part of Atlas's
// public surface (HTTP error bodies and metric labels): never rename one.
type Code string

// Codes returned in Error.Code.
const (
	CodeSignatureMissing          Code = "signature_missing"
	CodeSignatureMalformed        Code = "signature_malformed"
	CodeTimestampOutsideTolerance Code = "timestamp_outside_tolerance"
	CodeSignatureInvalid          Code = "signature_invalid"
	CodePayloadMissing            Code = "payload_missing"
	CodePayloadNotJSON            Code = "payload_not_json"
	CodeIdentityMissing           Code = "identity_missing"
	CodeIdentityMismatch          Code = "identity_mismatch"
)

// Error is a verification failure. Message is safe to return to the caller
// and to log: it never holds a secret, an expected signature or request
// bytes.
//
// Most failures share one *Error value so that rejecting junk does not
// allocate; treat returned errors as read-only.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// CodeOf returns the Code of err if it is (or wraps) an *Error, and "" for
// nil or any other error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newErr(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }

const sendAsIs = "; send the header exactly as fetchStripeSignature() returned it"

// Shared failures. Their messages are static so they cannot leak input.
var (
	errSignatureMissing = newErr(CodeSignatureMissing,
		"the Stripe-Signature header is missing or empty; sign the request in the Stripe App with fetchStripeSignature() and send the result in the Stripe-Signature header")

	errHeaderTooLong = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header is longer than "+strconv.Itoa(MaxHeaderBytes)+" bytes"+sendAsIs)
	errNoEquals = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header must be comma-separated key=value elements such as t=1700000000,v1=<hex>; an element has no '=' (empty elements and trailing commas are not allowed)"+sendAsIs)
	errNoTimestamp = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header has no t=<unix seconds> element"+sendAsIs)
	errDupTimestamp = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header has more than one t= element"+sendAsIs)
	errBadTimestamp = newErr(CodeSignatureMalformed,
		"the t= element of the Stripe-Signature header must be a Unix time in seconds written as 1 to 19 decimal digits, with no sign or spaces"+sendAsIs)
	errNoV1 = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header has no v1= signature (v0 and other schemes are ignored, and so is \" v1\" with a leading space)"+sendAsIs)
	errBadV1 = newErr(CodeSignatureMalformed,
		"a v1= signature in the Stripe-Signature header is not 64 lowercase hex characters (an HMAC-SHA256)"+sendAsIs)
	errTooManyV1 = newErr(CodeSignatureMalformed,
		"the Stripe-Signature header has more than "+strconv.Itoa(MaxSignatures)+" v1= signatures; Stripe sends one per active signing secret"+sendAsIs)

	errSignatureInvalid = newErr(CodeSignatureInvalid,
		"no v1 signature matches the payload for any configured signing secret; check that the gateway holds the app's current signing secret (absec_…) and that the signed payload arrives byte for byte (no re-encoding, added whitespace or reordered keys)")

	errPayloadMissing = newErr(CodePayloadMissing,
		"there is no signed payload; send the stripe-user header, the stripe-user-id and stripe-account-id headers, or (for POST, PUT and PATCH) the signed JSON body")
	errPayloadNotJSON = newErr(CodePayloadNotJSON,
		"the signed payload is not a JSON object in UTF-8; sign JSON.stringify({user_id, account_id, ...}) and send it unchanged")
	errIDHeadersNotUTF8 = newErr(CodePayloadNotJSON,
		"the stripe-user-id or stripe-account-id header is not valid UTF-8, so the signed JSON cannot be rebuilt from them; send the ids exactly as Stripe issued them")

	errUserIDMissing = newErr(CodeIdentityMissing,
		"the signed payload has no usable user_id (a non-empty JSON string without control characters); sign a payload that includes user_id (userContext.id)")
	errAccountIDMissing = newErr(CodeIdentityMissing,
		"the signed payload has no usable account_id (a non-empty JSON string without control characters); sign a payload that includes account_id (userContext.account.id)")
	errUserIDHeaderOnly = newErr(CodeIdentityMissing,
		"the stripe-user-id header was sent without stripe-account-id; send both, or send the stripe-user header instead")
	errAccountIDHeaderOnly = newErr(CodeIdentityMissing,
		"the stripe-account-id header was sent without stripe-user-id; send both, or send the stripe-user header instead")

	errDuplicateIdentity = newErr(CodeIdentityMismatch,
		"the signed payload names user_id or account_id more than once, so parsers may disagree on who signed it; sign a payload built with JSON.stringify")
	errUserIDHeaderMismatch = newErr(CodeIdentityMismatch,
		"the stripe-user-id header does not match user_id in the signed payload; send the ids of the user who signed, or drop the header")
	errAccountIDHeaderMismatch = newErr(CodeIdentityMismatch,
		"the stripe-account-id header does not match account_id in the signed payload; send the ids of the account that signed, or drop the header")
	errStripeUserMismatch = newErr(CodeIdentityMismatch,
		"the stripe-user header does not name the same user_id and account_id as the signed body; send the ids of the user who signed, or drop the header")
)

// toleranceError is built per failure because it carries the measured skew,
// which is what an operator needs to tell a replay from a wrong clock.
func toleranceError(skew, tolerance int64) *Error {
	dir, fix := "in the past", "the request may be a replay, or this host's clock is ahead; check NTP and sign each request just before sending it"
	if skew < 0 {
		dir, fix, skew = "in the future", "this host's clock or the signer's is wrong; check NTP on both", -skew
	}
	return newErr(CodeTimestampOutsideTolerance,
		"the signature timestamp is "+strconv.FormatInt(skew, 10)+" s "+dir+", outside the tolerance of "+
			strconv.FormatInt(tolerance, 10)+" s; "+fix)
}
