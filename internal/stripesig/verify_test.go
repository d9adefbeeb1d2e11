package stripesig

import (
	"strings"
	"testing"
	"time"
)

type badCase struct {
	name string
	req  Request
	want Code
}

// badCases are requests that must be rejected, each with the exact Code.
// TestVerifyRequestRejects runs them and TestErrorMessagesLeakNothing reuses
// them to cover every error path.
func badCases() []badCase {
	p := testPayload
	ts := tsStr(testNow)
	good := macHex(p, testSecret, testNow.Unix())
	sign := func(payload string) string { return Sign([]byte(payload), testSecret, testNow) }
	hdr := func(h string) Request { return Request{Signature: h, StripeUser: string(p)} }
	signedUser := func(payload string) Request { return Request{Signature: sign(payload), StripeUser: payload} }
	signedBody := func(payload string) Request { return Request{Signature: sign(payload), Body: []byte(payload)} }
	hex64 := strings.Repeat("ab", 32)
	nineV1 := "t=" + ts + strings.Repeat(",v1="+hex64, 9)
	tenKB := "t=" + ts + ",v1=" + good + ",x=" + strings.Repeat("a", 10<<10)
	justOver := "t=" + ts + ",v1=" + good + ",x="
	justOver += strings.Repeat("a", MaxHeaderBytes+1-len(justOver))
	body1K := `{"note":"` + strings.Repeat("x", 1000) + `","user_id":"usr_123","account_id":"acct_456"}`
	flipped := []byte(body1K)
	flipped[500] = 'y'

	return []badCase{
		// signature_missing
		{"no header", Request{StripeUser: string(p)}, CodeSignatureMissing},
		{"empty header with body", Request{Signature: "", Body: p}, CodeSignatureMissing},
		{"nothing at all", Request{}, CodeSignatureMissing},

		// signature_malformed: structure
		{"single space", hdr(" "), CodeSignatureMalformed},
		{"comma only", hdr(","), CodeSignatureMalformed},
		{"trailing comma", hdr(header(testNow, good) + ","), CodeSignatureMalformed},
		{"leading comma", hdr("," + header(testNow, good)), CodeSignatureMalformed},
		{"element without equals", hdr(header(testNow, good) + ",foo"), CodeSignatureMalformed},
		{"no t", hdr("v1=" + good), CodeSignatureMalformed},
		{"no v1", hdr("t=" + ts), CodeSignatureMalformed},
		{"v0 only", hdr("t=" + ts + ",v0=" + good), CodeSignatureMalformed},
		{"unknown scheme only", hdr("t=" + ts + ",v2=" + good), CodeSignatureMalformed},
		{"uppercase V1 key", hdr("t=" + ts + ",V1=" + good), CodeSignatureMalformed},
		{"space after comma hides v1", hdr("t=" + ts + ", v1=" + good), CodeSignatureMalformed},
		{"space before equals hides v1", hdr("t=" + ts + ",v1 =" + good), CodeSignatureMalformed},
		{"space before t key", hdr(" t=" + ts + ",v1=" + good), CodeSignatureMalformed},
		{"semicolon separators", hdr("t=" + ts + ";v1=" + good), CodeSignatureMalformed},
		{"10 KB header", hdr(tenKB), CodeSignatureMalformed},
		{"one byte over the cap", hdr(justOver), CodeSignatureMalformed},
		{"too many v1", hdr(nineV1), CodeSignatureMalformed},

		// signature_malformed: t
		{"t empty", hdr("t=,v1=" + good), CodeSignatureMalformed},
		{"t non-numeric", hdr("t=abc,v1=" + good), CodeSignatureMalformed},
		{"t with trailing garbage", hdr("t=" + ts + "abc,v1=" + good), CodeSignatureMalformed},
		{"t with plus sign", hdr("t=+" + ts + ",v1=" + good), CodeSignatureMalformed},
		{"t negative", hdr("t=-1,v1=" + good), CodeSignatureMalformed},
		{"t overflows int64", hdr("t=9223372036854775808,v1=" + good), CodeSignatureMalformed},
		{"t has 20 digits", hdr("t=01700000000000000000,v1=" + good), CodeSignatureMalformed},
		{"t fractional", hdr("t=" + ts + ".0,v1=" + good), CodeSignatureMalformed},
		{"t hexadecimal", hdr("t=0x6553f100,v1=" + good), CodeSignatureMalformed},
		{"t with space before value", hdr("t= " + ts + ",v1=" + good), CodeSignatureMalformed},
		{"t with space after value", hdr("t=" + ts + " ,v1=" + good), CodeSignatureMalformed},
		{"t duplicated, same value", hdr("t=" + ts + ",t=" + ts + ",v1=" + good), CodeSignatureMalformed},
		{"t duplicated after v1", hdr("t=1,v1=" + good + ",t=" + ts), CodeSignatureMalformed},

		// signature_malformed: v1
		{"v1 empty", hdr("t=" + ts + ",v1="), CodeSignatureMalformed},
		{"v1 odd-length hex", hdr("t=" + ts + ",v1=" + good[:63]), CodeSignatureMalformed},
		{"v1 too short", hdr("t=" + ts + ",v1=abcd"), CodeSignatureMalformed},
		{"v1 too long", hdr("t=" + ts + ",v1=" + good + "00"), CodeSignatureMalformed},
		{"v1 not hex", hdr("t=" + ts + ",v1=" + strings.Repeat("zz", 32)), CodeSignatureMalformed},
		{"v1 uppercase hex", hdr("t=" + ts + ",v1=" + strings.ToUpper(good)), CodeSignatureMalformed},
		{"v1 with extra equals", hdr("t=" + ts + ",v1=" + good + "="), CodeSignatureMalformed},
		{"bad v1 next to a good one", hdr(header(testNow, good, "nothex")), CodeSignatureMalformed},

		// timestamp_outside_tolerance
		{"old timestamp", hdr(Sign(p, testSecret, testNow.Add(-301*time.Second))), CodeTimestampOutsideTolerance},
		{"future timestamp", hdr(Sign(p, testSecret, testNow.Add(301*time.Second))), CodeTimestampOutsideTolerance},
		{"t zero", hdr("t=0,v1=" + macHex(p, testSecret, 0)), CodeTimestampOutsideTolerance},
		{"t max int64", hdr("t=9223372036854775807,v1=" + hex64), CodeTimestampOutsideTolerance},

		// signature_invalid
		{"wrong secret", hdr(Sign(p, []byte("absec_someone_else"), testNow)), CodeSignatureInvalid},
		{"secret with trailing newline", hdr(Sign(p, append(append([]byte(nil), testSecret...), '\n'), testNow)), CodeSignatureInvalid},
		{"signature for another payload", hdr(sign(`{"user_id":"usr_999","account_id":"acct_456"}`)), CodeSignatureInvalid},
		{"t changed after signing", hdr(header(testNow.Add(time.Second), good)), CodeSignatureInvalid},
		{"signature only in v0", hdr("t=" + ts + ",v0=" + good + ",v1=" + hex64), CodeSignatureInvalid},
		{"all-zero signature", hdr("t=" + ts + ",v1=" + strings.Repeat("0", 64)), CodeSignatureInvalid},
		{"swapped key order", Request{Signature: sign(string(p)), StripeUser: `{"account_id":"acct_456","user_id":"usr_123"}`}, CodeSignatureInvalid},
		{"HTML-escaped payload", Request{
			Signature:  sign(`{"user_id":"usr_<b>&","account_id":"acct_456"}`),
			StripeUser: `{"user_id":"usr_\u003cb\u003e\u0026","account_id":"acct_456"}`,
		}, CodeSignatureInvalid},
		{"HTML-escaped id headers rebuilt", Request{
			// The frontend signed JSON.stringify output; a rebuild with Go's
			// escaping would produce the \u003c form, which is the one signed
			// here, so the rebuild must not match it.
			Signature: sign(`{"user_id":"usr_\u003cb\u003e","account_id":"acct_456"}`),
			UserID:    "usr_<b>", AccountID: "acct_456",
		}, CodeSignatureInvalid},
		{"extra whitespace in payload", Request{Signature: sign(string(p)), StripeUser: `{"user_id": "usr_123", "account_id": "acct_456"}`}, CodeSignatureInvalid},
		{"trailing newline in body", Request{Signature: sign(string(p)), Body: append(append([]byte(nil), p...), '\n')}, CodeSignatureInvalid},
		{"body altered by one byte", Request{Signature: sign(body1K), Body: flipped}, CodeSignatureInvalid},
		{"body truncated", Request{Signature: sign(body1K), Body: []byte(body1K[:len(body1K)-1])}, CodeSignatureInvalid},
		{"id headers for another user", Request{Signature: sign(string(p)), UserID: "usr_999", AccountID: "acct_456"}, CodeSignatureInvalid},
		{"id headers with body-signed signature", Request{Signature: sign(body1K), UserID: "usr_123", AccountID: "acct_456"}, CodeSignatureInvalid},

		// payload_missing
		{"signature without payload", Request{Signature: sign(string(p))}, CodePayloadMissing},
		{"signature with empty body", Request{Signature: sign(string(p)), Body: []byte{}}, CodePayloadMissing},

		// payload_not_json
		{"stripe-user not JSON", signedUser("usr_123"), CodePayloadNotJSON},
		{"stripe-user a JSON array", signedUser(`["usr_123","acct_456"]`), CodePayloadNotJSON},
		{"stripe-user a JSON string", signedUser(`"usr_123"`), CodePayloadNotJSON},
		{"stripe-user JSON null", signedUser(`null`), CodePayloadNotJSON},
		{"body form-encoded", signedBody("user_id=usr_123&account_id=acct_456"), CodePayloadNotJSON},
		{"body with trailing garbage", signedBody(string(p) + "x"), CodePayloadNotJSON},
		{"body truncated JSON", signedBody(string(p[:len(p)-1])), CodePayloadNotJSON},
		{"body invalid UTF-8", signedBody(`{"user_id":"usr_123","account_id":"acct_456","x":"` + "\xff" + `"}`), CodePayloadNotJSON},
		{"id headers invalid UTF-8", Request{Signature: sign(string(p)), UserID: "usr_\xff", AccountID: "acct_456"}, CodePayloadNotJSON},

		// identity_missing
		{"user_id missing", signedBody(`{"account_id":"acct_456"}`), CodeIdentityMissing},
		{"account_id missing", signedBody(`{"user_id":"usr_123"}`), CodeIdentityMissing},
		{"empty object", signedBody(`{}`), CodeIdentityMissing},
		{"user_id empty", signedBody(`{"user_id":"","account_id":"acct_456"}`), CodeIdentityMissing},
		{"account_id empty", signedBody(`{"user_id":"usr_123","account_id":""}`), CodeIdentityMissing},
		{"user_id a number", signedBody(`{"user_id":123,"account_id":"acct_456"}`), CodeIdentityMissing},
		{"account_id null", signedBody(`{"user_id":"usr_123","account_id":null}`), CodeIdentityMissing},
		{"account_id an object", signedBody(`{"user_id":"usr_123","account_id":{"id":"acct_456"}}`), CodeIdentityMissing},
		{"account_id with escaped newline", signedBody(`{"user_id":"usr_123","account_id":"acct_456\nX-Evil: 1"}`), CodeIdentityMissing},
		{"keys differ in case", signedBody(`{"USER_ID":"usr_123","Account_Id":"acct_456"}`), CodeIdentityMissing},
		{"ids only nested", signedBody(`{"data":{"user_id":"usr_123","account_id":"acct_456"}}`), CodeIdentityMissing},
		{"only stripe-user-id header", Request{Signature: sign(string(p)), UserID: "usr_123"}, CodeIdentityMissing},
		{"only stripe-account-id header", Request{Signature: sign(string(p)), AccountID: "acct_456"}, CodeIdentityMissing},

		// identity_mismatch
		{"user_id twice in body", signedBody(`{"user_id":"usr_evil","user_id":"usr_123","account_id":"acct_456"}`), CodeIdentityMismatch},
		{"account_id twice, once escaped", signedBody(`{"user_id":"usr_123","account_id":"acct_456","account\u005fid":"acct_evil"}`), CodeIdentityMismatch},
		{"stripe-user-id disagrees with stripe-user", Request{Signature: sign(string(p)), StripeUser: string(p), UserID: "usr_999"}, CodeIdentityMismatch},
		{"stripe-account-id disagrees with stripe-user", Request{Signature: sign(string(p)), StripeUser: string(p), AccountID: "acct_999"}, CodeIdentityMismatch},
		{"stripe-account-id disagrees with body", Request{Signature: sign(body1K), Body: []byte(body1K), AccountID: "acct_999"}, CodeIdentityMismatch},
		{"stripe-user disagrees with body", Request{Signature: sign(body1K), Body: []byte(body1K), StripeUser: `{"user_id":"usr_123","account_id":"acct_999"}`}, CodeIdentityMismatch},
		{"stripe-user not JSON next to body", Request{Signature: sign(body1K), Body: []byte(body1K), StripeUser: "usr_123"}, CodeIdentityMismatch},
	}
}

func TestVerifyRequestRejects(t *testing.T) {
	v := newTestVerifier(t)
	cases := badCases()
	if len(cases) < 40 {
		t.Fatalf("only %d bad cases", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.VerifyRequest(tc.req, testNow)
			if got := CodeOf(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.want)
			}
			if id != (Identity{}) {
				t.Fatalf("identity %+v returned with an error", id)
			}
		})
	}
}

// TestVerifyAgreesWithVerifyRequest checks the lower-level entry points on
// the signature-level failures, where they must agree with VerifyRequest.
func TestVerifyAgreesWithVerifyRequest(t *testing.T) {
	v := newTestVerifier(t)
	for _, tc := range badCases() {
		if tc.req.StripeUser == "" || tc.req.Body != nil || tc.req.UserID != "" || tc.req.AccountID != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(tc.req.StripeUser)
			_, idErr := v.VerifyIdentity(payload, tc.req.Signature, testNow)
			if got := CodeOf(idErr); got != tc.want {
				t.Fatalf("VerifyIdentity code = %q, want %q", got, tc.want)
			}
			err := v.Verify(payload, tc.req.Signature, testNow)
			switch tc.want {
			case CodePayloadNotJSON, CodeIdentityMissing, CodeIdentityMismatch:
				if err != nil { // the signature itself is fine
					t.Fatalf("Verify = %v, want nil", err)
				}
			default:
				if got := CodeOf(err); got != tc.want {
					t.Fatalf("Verify code = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestVerifyRequestAccepts(t *testing.T) {
	v := newTestVerifier(t)
	p := string(testPayload)
	ts := tsStr(testNow)
	good := macHex(testPayload, testSecret, testNow.Unix())
	sign := func(payload string) string { return Sign([]byte(payload), testSecret, testNow) }
	body := `{"amount":100,"nested":{"user_id":"usr_decoy","list":[1,"}",{"a":null}]},"user_id":"usr_123","account_id":"acct_456"}`
	html := Identity{UserID: `usr_<b>&'"\`, AccountID: "acct_\u2028é😀"}

	for _, tc := range []struct {
		name string
		req  Request
		want Identity
	}{
		{"stripe-user header", Request{Signature: sign(p), StripeUser: p}, testIdentity},
		{"id headers", Request{Signature: sign(p), UserID: "usr_123", AccountID: "acct_456"}, testIdentity},
		{"body", Request{Signature: sign(body), Body: []byte(body)}, testIdentity},
		{"body with agreeing headers", Request{Signature: sign(body), Body: []byte(body), StripeUser: p, UserID: "usr_123", AccountID: "acct_456"}, testIdentity},
		{"stripe-user with agreeing id headers", Request{Signature: sign(p), StripeUser: p, UserID: "usr_123", AccountID: "acct_456"}, testIdentity},
		{"stripe-user wins over unsigned id headers' absence", Request{Signature: sign(p), StripeUser: p, AccountID: "acct_456"}, testIdentity},
		{"JSON.stringify escaping in id headers", Request{
			Signature: sign(`{"user_id":"usr_<b>&'\"\\","account_id":"acct_` + "\u2028é😀" + `"}`),
			UserID:    html.UserID, AccountID: html.AccountID,
		}, html},
		{"escaped key in body", Request{Signature: sign(`{"user\u005fid":"usr_123","account_id":"acct_\u0034\u00356"}`), Body: []byte(`{"user\u005fid":"usr_123","account_id":"acct_\u0034\u00356"}`)}, testIdentity},
		{"whitespace the signer put there", Request{Signature: sign(" {\n\t\"user_id\" : \"usr_123\" ,\r\n\"account_id\":\"acct_456\" } "), Body: []byte(" {\n\t\"user_id\" : \"usr_123\" ,\r\n\"account_id\":\"acct_456\" } ")}, testIdentity},
		{"v0 and unknown schemes ignored", Request{Signature: "t=" + ts + ",v0=zz,v1=" + good + ",foo=bar=baz, v1=x,=", StripeUser: p}, testIdentity},
		{"good v1 after a wrong one", Request{Signature: header(testNow, strings.Repeat("0", 64), good), StripeUser: p}, testIdentity},
		{"v1 before t", Request{Signature: "v1=" + good + ",t=" + ts, StripeUser: p}, testIdentity},
		{"leading zeros in t", Request{Signature: "t=000" + ts + ",v1=" + good, StripeUser: p}, testIdentity},
		{"eight v1", Request{Signature: "t=" + ts + strings.Repeat(",v1="+good, MaxSignatures), StripeUser: p}, testIdentity},
		{"exactly 300 s old", Request{Signature: Sign(testPayload, testSecret, testNow.Add(-300*time.Second)), StripeUser: p}, testIdentity},
		{"exactly 300 s ahead", Request{Signature: Sign(testPayload, testSecret, testNow.Add(300*time.Second)), StripeUser: p}, testIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.VerifyRequest(tc.req, testNow)
			if err != nil {
				t.Fatalf("VerifyRequest: %v", err)
			}
			if id != tc.want {
				t.Fatalf("identity = %+v, want %+v", id, tc.want)
			}
		})
	}
}

func TestToleranceIsConfigurableAndSymmetric(t *testing.T) {
	v, err := NewVerifier([][]byte{testSecret}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		skew time.Duration
		want Code
	}{
		{-11 * time.Second, CodeTimestampOutsideTolerance},
		{-10 * time.Second, ""},
		{0, ""},
		{10 * time.Second, ""},
		{11 * time.Second, CodeTimestampOutsideTolerance},
	} {
		t.Run(tc.skew.String(), func(t *testing.T) {
			h := Sign(testPayload, testSecret, testNow.Add(tc.skew))
			if got := CodeOf(v.Verify(testPayload, h, testNow)); got != tc.want {
				t.Fatalf("code = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		secrets   [][]byte
		tolerance time.Duration
	}{
		{"no secrets", nil, 0},
		{"empty secret", [][]byte{testSecret, {}}, 0},
		{"negative tolerance", [][]byte{testSecret}, -time.Second},
		{"sub-second tolerance", [][]byte{testSecret}, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.secrets, tc.tolerance)
			if err == nil || v != nil {
				t.Fatalf("NewVerifier = %v, %v; want an error", v, err)
			}
			if strings.Contains(err.Error(), string(testSecret)) {
				t.Fatalf("error %q leaks the secret", err)
			}
		})
	}
}

func TestNewVerifierCopiesSecrets(t *testing.T) {
	s := append([]byte(nil), testSecret...)
	v := newTestVerifier(t, s)
	s[0] ^= 0xff
	if err := v.Verify(testPayload, Sign(testPayload, testSecret, testNow), testNow); err != nil {
		t.Fatalf("mutating the caller's slice changed the Verifier: %v", err)
	}
}

func TestSatSub(t *testing.T) {
	const maxI, minI = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	for _, tc := range []struct{ a, b, want int64 }{
		{5, 3, 2},
		{-10, maxI, -maxI},
		{minI, 0, -maxI},
		{maxI, -1, maxI},
	} {
		if got := satSub(tc.a, tc.b); got != tc.want {
			t.Errorf("satSub(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
