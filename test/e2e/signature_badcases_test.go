package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// badCase is one request that must be refused before it reaches an upstream.
type badCase struct {
	name    string
	method  string // "" is GET
	adapter string // "" is stripe (onBehalfOf)
	body    string
	chunked bool     // send the body with Transfer-Encoding: chunked
	hdr     []string // header name/value pairs, in order
	status  int      // 0 is 401
	code    string   // error.code; "-" means the body has no code (Envoy's own reply)
	// signed are payloads whose correct signatures (for every secret, at now
	// and at ts) must not appear in the answer.
	signed []string
	ts     time.Time
}

const (
	badUser      = `{"user_id":"usr_bad","account_id":"acct_bad"}`
	badUserOther = `{"user_id":"usr_other","account_id":"acct_other"}`
	badBody      = `{"name":"<b>&co","user_id":"usr_bad","account_id":"acct_bad"}`
	bangUser     = `{"user_id":"usr_bad!","account_id":"acct_bad"}`
)

// badInputs is issue #3's table of bad inputs. Codes follow the verifier's
// order of checks (internal/stripesig VerifyRequest and verify.Decide):
// body size, then which payload (id headers alone are identity_missing
// before anything else), then the header syntax (signature_missing /
// signature_malformed), then an empty payload (payload_missing), then the
// clock, then the HMACs (signature_invalid), then the payload's JSON and
// identity (payload_not_json / identity_missing / identity_mismatch), then
// the client's Stripe-Account (identity_mismatch). A case that fails two
// checks gets the first one's code; its comment says so.
func badInputs(now time.Time) []badCase {
	sig := func(p string) string { return signAt(p, appSecret, now) }
	ts := strconv.FormatInt(now.Unix(), 10)
	good := v1Hex(badUser, appSecret, now) // a correct v1 for badUser at now
	old, future := now.Add(-400*time.Second), now.Add(400*time.Second)
	user := func(extra ...string) []string { return append([]string{"Stripe-User", badUser}, extra...) }
	post := "POST"
	swapped := `{"account_id":"acct_bad","user_id":"usr_bad"}`
	htmlRaw := `{"user_id":"usr_<b>&","account_id":"acct_bad"}`
	htmlEsc := `{"user_id":"usr_\u003cb\u003e\u0026","account_id":"acct_bad"}`
	escBody, _ := json.Marshal(map[string]string{"name": "<b>&co"}) // Go escapes <>&
	bodyEsc := strings.TrimSuffix(string(escBody), "}") + `,"user_id":"usr_bad","account_id":"acct_bad"}`
	altered := strings.Replace(badBody, "co", "cp", 1)
	big := `{"pad":"` + strings.Repeat("x", 5000) + `","user_id":"usr_bad","account_id":"acct_bad"}`
	huge := strings.Repeat("y", 2<<20)
	nine := "t=" + ts + strings.Repeat(",v1="+good, 9)

	const (
		missing   = "signature_missing"
		malformed = "signature_malformed"
		invalid   = "signature_invalid"
		clock     = "timestamp_outside_tolerance"
		noPayload = "payload_missing"
		notJSON   = "payload_not_json"
		noID      = "identity_missing"
		mismatch  = "identity_mismatch"
		tooLarge  = "body_too_large"
	)
	return []badCase{
		// The header: missing, empty, unparsable.
		{name: "no Stripe-Signature", hdr: user(), code: missing},
		{name: "empty Stripe-Signature", hdr: user("Stripe-Signature", ""), code: missing},
		// Envoy strips surrounding whitespace, so this is the empty header.
		{name: "whitespace-only Stripe-Signature", hdr: user("Stripe-Signature", "   "), code: missing},
		// Envoy drops headers with underscores, so the alias is never read.
		{name: "Stripe_Signature with underscore", hdr: user("Stripe_Signature", sig(badUser)), code: missing},
		{name: "no t", hdr: user("Stripe-Signature", "v1="+good), code: malformed},
		{name: "non-numeric t", hdr: user("Stripe-Signature", "t=abc,v1="+good), code: malformed},
		{name: "t with a plus sign", hdr: user("Stripe-Signature", "t=+"+ts+",v1="+good), code: malformed},
		{name: "negative t", hdr: user("Stripe-Signature", "t=-"+ts+",v1="+good), code: malformed},
		{name: "t with trailing junk", hdr: user("Stripe-Signature", "t="+ts+"abc,v1="+good), code: malformed},
		{name: "t overflowing int64", hdr: user("Stripe-Signature", "t=99999999999999999999,v1="+good), code: malformed},
		{name: "duplicated t", hdr: user("Stripe-Signature", "t="+ts+",t="+ts+",v1="+good), code: malformed},
		{name: "no v1", hdr: user("Stripe-Signature", "t="+ts), code: malformed},
		{name: "empty v1", hdr: user("Stripe-Signature", "t="+ts+",v1="), code: malformed},
		{name: "odd-length hex v1", hdr: user("Stripe-Signature", "t="+ts+",v1="+good[:63]), code: malformed},
		{name: "v1 one hex digit too long", hdr: user("Stripe-Signature", "t="+ts+",v1="+good+"0"), code: malformed},
		{name: "non-hex v1", hdr: user("Stripe-Signature", "t="+ts+",v1=g"+good[1:]), code: malformed},
		// The right signature in uppercase: one accepted spelling only.
		{name: "uppercase hex v1", hdr: user("Stripe-Signature", "t="+ts+",v1="+strings.ToUpper(good)), code: malformed},
		{name: "v0 only", hdr: user("Stripe-Signature", "t="+ts+",v0="+good), code: malformed},
		{name: "unknown scheme only", hdr: user("Stripe-Signature", "t="+ts+",v2="+good), code: malformed},
		{name: "v1 with a leading space", hdr: user("Stripe-Signature", "t="+ts+", v1="+good), code: malformed},
		{name: "trailing comma", hdr: user("Stripe-Signature", sig(badUser)+","), code: malformed},
		{name: "element without =", hdr: user("Stripe-Signature", sig(badUser)+",junk"), code: malformed},
		{name: "nine v1 signatures", hdr: user("Stripe-Signature", nine), code: malformed},
		// A valid signature padded to 10 KB with an ignored scheme: the
		// verifier caps the header at 8 KiB (Envoy's own limit is 60 KiB).
		{name: "10 KB header", hdr: user("Stripe-Signature", sig(badUser)+",v0="+strings.Repeat("a", 10<<10)), code: malformed},
		// Two valid headers: Envoy hands the verifier both values (joined
		// by ext_authz, as list entries by ext_proc); a duplicated t.
		{name: "two Stripe-Signature headers", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Signature", sig(badUser)), code: malformed},
		{name: "junk Stripe-Signature before a valid one", hdr: user("Stripe-Signature", "junk", "Stripe-Signature", sig(badUser)), code: malformed},

		// The HMAC does not match.
		{name: "wrong secret", hdr: user("Stripe-Signature", signAt(badUser, wrongSecret, now)), code: invalid},
		{name: "another StripeApp's secret", hdr: user("Stripe-Signature", signAt(badUser, otherAppSecret, now)), code: invalid},
		{name: "signature made for a different t", hdr: user("Stripe-Signature", "t="+strconv.FormatInt(now.Unix()-1, 10)+",v1="+good), code: invalid},
		{name: "replayed signature of another user", hdr: user("Stripe-Signature", sig(badUserOther)), code: invalid, signed: []string{badUserOther}},
		{name: "swapped key order in stripe-user", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User", swapped}, code: invalid, signed: []string{swapped}},
		// The id headers are rebuilt in JSON.stringify's order.
		{name: "swapped key order signed, id headers sent", hdr: []string{"Stripe-Signature", sig(swapped), "Stripe-User-Id", "usr_bad", "Stripe-Account-Id", "acct_bad"}, code: invalid, signed: []string{swapped}},
		{name: "stripe-user HTML-escaped after signing", hdr: []string{"Stripe-Signature", sig(htmlRaw), "Stripe-User", htmlEsc}, code: invalid, signed: []string{htmlRaw, htmlEsc}},
		{name: "stripe-user signed HTML-escaped, sent raw", hdr: []string{"Stripe-Signature", sig(htmlEsc), "Stripe-User", htmlRaw}, code: invalid, signed: []string{htmlRaw, htmlEsc}},
		{name: "extra whitespace in stripe-user", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User", `{"user_id": "usr_bad", "account_id": "acct_bad"}`}, code: invalid},
		{name: "id headers for another user", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User-Id", "usr_other", "Stripe-Account-Id", "acct_other"}, code: invalid},
		{name: "body altered by one byte", method: post, body: altered, hdr: []string{"Stripe-Signature", sig(badBody)}, code: invalid, signed: []string{badBody, altered}},
		{name: "body HTML-escaped after signing", method: post, body: bodyEsc, hdr: []string{"Stripe-Signature", sig(badBody)}, code: invalid, signed: []string{badBody, bodyEsc}},
		{name: "body signed HTML-escaped, sent raw", method: post, body: badBody, hdr: []string{"Stripe-Signature", sig(bodyEsc)}, code: invalid, signed: []string{badBody, bodyEsc}},
		{name: "extra whitespace in body", method: post, body: badBody + "\n", hdr: []string{"Stripe-Signature", sig(badBody)}, code: invalid, signed: []string{badBody}},
		{name: "body signed with the wrong secret", method: post, body: badBody, hdr: []string{"Stripe-Signature", signAt(badBody, wrongSecret, now)}, code: invalid, signed: []string{badBody}},
		// A GET's payload is stripe-user: a signature over the body is not
		// one over stripe-user.
		{name: "body signed, GET with stripe-user", body: badBody, hdr: user("Stripe-Signature", sig(badBody)), code: invalid, signed: []string{badBody}},

		// The clock (correct HMACs at the header's t).
		{name: "old timestamp (400 s)", hdr: user("Stripe-Signature", signAt(badUser, appSecret, old)), code: clock, ts: old},
		{name: "future timestamp (400 s)", hdr: user("Stripe-Signature", signAt(badUser, appSecret, future)), code: clock, ts: future},
		{name: "timestamp a day old", hdr: user("Stripe-Signature", signAt(badUser, appSecret, now.Add(-24*time.Hour))), code: clock, ts: now.Add(-24 * time.Hour)},
		{name: "timestamp in milliseconds", hdr: user("Stripe-Signature", signAt(badUser, appSecret, time.Unix(now.Unix()*1000, 0))), code: clock, ts: time.Unix(now.Unix()*1000, 0)},
		{name: "timestamp zero", hdr: user("Stripe-Signature", signAt(badUser, appSecret, time.Unix(0, 0))), code: clock, ts: time.Unix(0, 0)},

		// No payload, or one that is not a usable identity (correctly signed).
		// A GET ignores its body, so a body-signed GET has no payload.
		{name: "body signed, GET without stripe-user", body: badBody, hdr: []string{"Stripe-Signature", sig(badBody)}, code: noPayload, signed: []string{badBody}},
		{name: "POST without body or stripe-user", method: post, hdr: []string{"Stripe-Signature", sig(badUser)}, code: noPayload},
		{name: "stripe-user not JSON", hdr: []string{"Stripe-Signature", sig("usr_bad acct_bad"), "Stripe-User", "usr_bad acct_bad"}, code: notJSON, signed: []string{"usr_bad acct_bad"}},
		{name: "stripe-user a JSON array", hdr: []string{"Stripe-Signature", sig(`["usr_bad","acct_bad"]`), "Stripe-User", `["usr_bad","acct_bad"]`}, code: notJSON, signed: []string{`["usr_bad","acct_bad"]`}},
		{name: "body not JSON", method: post, body: "name=x", hdr: []string{"Stripe-Signature", sig("name=x")}, code: notJSON, signed: []string{"name=x"}},
		{name: "stripe-user without account_id", hdr: []string{"Stripe-Signature", sig(`{"user_id":"usr_bad"}`), "Stripe-User", `{"user_id":"usr_bad"}`}, code: noID, signed: []string{`{"user_id":"usr_bad"}`}},
		{name: "stripe-user with empty user_id", hdr: []string{"Stripe-Signature", sig(`{"user_id":"","account_id":"acct_bad"}`), "Stripe-User", `{"user_id":"","account_id":"acct_bad"}`}, code: noID, signed: []string{`{"user_id":"","account_id":"acct_bad"}`}},
		{name: "stripe-user with numeric ids", hdr: []string{"Stripe-Signature", sig(`{"user_id":1,"account_id":2}`), "Stripe-User", `{"user_id":1,"account_id":2}`}, code: noID, signed: []string{`{"user_id":1,"account_id":2}`}},
		// An escaped CRLF would become header injection in Stripe-Account.
		{name: "account_id with CRLF", hdr: []string{"Stripe-Signature", sig(`{"user_id":"usr_bad","account_id":"acct_bad\r\nX-Evil: 1"}`), "Stripe-User", `{"user_id":"usr_bad","account_id":"acct_bad\r\nX-Evil: 1"}`}, code: noID, signed: []string{`{"user_id":"usr_bad","account_id":"acct_bad\r\nX-Evil: 1"}`}},
		{name: "body without identity", method: post, body: `{"name":"x"}`, hdr: []string{"Stripe-Signature", sig(`{"name":"x"}`)}, code: noID, signed: []string{`{"name":"x"}`}},
		// Checked before the signature: the pair is incomplete.
		{name: "stripe-user-id without stripe-account-id", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User-Id", "usr_bad"}, code: noID},
		{name: "stripe-account-id without stripe-user-id", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-Account-Id", "acct_bad"}, code: noID},

		// Identity claims that disagree with the signed one.
		{name: "duplicated account_id key", hdr: []string{"Stripe-Signature", sig(`{"user_id":"usr_bad","account_id":"acct_bad","account_id":"acct_victim"}`), "Stripe-User", `{"user_id":"usr_bad","account_id":"acct_bad","account_id":"acct_victim"}`}, code: mismatch, signed: []string{`{"user_id":"usr_bad","account_id":"acct_bad","account_id":"acct_victim"}`}},
		{name: "stripe-user-id disagrees with stripe-user", hdr: user("Stripe-Signature", sig(badUser), "Stripe-User-Id", "usr_other"), code: mismatch},
		{name: "stripe-account-id disagrees with stripe-user", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Account-Id", "acct_other"), code: mismatch},
		{name: "stripe-user disagrees with the signed body", method: post, body: badBody, hdr: []string{"Stripe-Signature", sig(badBody), "Stripe-User", badUserOther}, code: mismatch, signed: []string{badBody}},
		{name: "client-forged Stripe-Account (GET)", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Account", "acct_victim"), code: mismatch},
		{name: "client-forged Stripe-Account (POST)", method: post, body: badBody, hdr: []string{"Stripe-Signature", sig(badBody), "Stripe-Account", "acct_victim"}, code: mismatch, signed: []string{badBody}},
		// Repeated headers are joined (by Envoy for ext_authz, by Atlas for
		// ext_proc), so a forged copy cannot hide behind a genuine one.
		{name: "forged Stripe-Account before the genuine one", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Account", "acct_victim", "Stripe-Account", "acct_bad"), code: mismatch},
		{name: "forged Stripe-Account after the genuine one (backend)", adapter: "backend", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Account", "acct_bad", "Stripe-Account", "acct_victim"), code: mismatch},
		// The joined value is the signed payload, which no one signed.
		{name: "forged stripe-user before the signed one", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User", badUserOther, "Stripe-User", badUser}, code: invalid, signed: []string{badUserOther}},
		// Invalid UTF-8 cannot come from JSON.stringify. The bytes sent are
		// what is verified: no transport may repair them first (Envoy's
		// ext_authz "headers" map turns \xff into '!', which the second
		// case would then match).
		{name: "non-UTF-8 stripe-user-id", hdr: []string{"Stripe-Signature", sig(badUser), "Stripe-User-Id", "usr_bad\xff", "Stripe-Account-Id", "acct_bad"}, code: notJSON},
		{name: "non-UTF-8 stripe-user-id, signed as repaired", hdr: []string{"Stripe-Signature", sig(bangUser), "Stripe-User-Id", "usr_bad\xff", "Stripe-Account-Id", "acct_bad"}, code: notJSON, signed: []string{bangUser}},
		{name: "client-forged Stripe-Account (backend)", adapter: "backend", hdr: user("Stripe-Signature", sig(badUser), "Stripe-Account", "acct_victim"), code: mismatch},

		// Bodies over maxBodyBytes (4096). The size is checked before
		// the signature, which is valid here.
		{name: "body over the limit (Content-Length)", method: post, body: big, hdr: []string{"Stripe-Signature", sig(big)}, status: 413, code: tooLarge, signed: []string{big}},
		{name: "body over the limit (chunked)", method: post, body: big, chunked: true, hdr: []string{"Stripe-Signature", sig(big)}, status: 413, code: tooLarge, signed: []string{big}},
		// 2 MiB chunked is over Envoy's own buffer (the listener's
		// per-connection limit, max(maxBodyBytes, 1 MiB)): Envoy answers
		// before the verifier sees the body, and its local reply mapper
		// gives the 413 the same code.
		{name: "body over Envoy's buffer (chunked)", method: post, body: huge, chunked: true, hdr: []string{"Stripe-Signature", sig(huge)}, status: 413, code: tooLarge},
	}
}
