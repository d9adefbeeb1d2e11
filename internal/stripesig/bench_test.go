package stripesig

import (
	"strings"
	"testing"
)

// BenchmarkVerify measures the per-request cost in the ext_proc/ext_authz
// hot path, through VerifyRequest as those servers call it.
func BenchmarkVerify(b *testing.B) {
	p := string(testPayload)
	body := []byte(`{"note":"` + strings.Repeat("x", 1024-len(`{"note":"","user_id":"usr_123","account_id":"acct_456"}`)) + `","user_id":"usr_123","account_id":"acct_456"}`)
	if len(body) != 1024 {
		b.Fatalf("body is %d bytes", len(body))
	}
	// The rotation header lists the old secret's v1 first and the verifier
	// holds the new secret first, so the match is found last: the worst case.
	rotation := Sign(testPayload, testSecret, testNow) + ",v1=" + macHex(testPayload, testSecret2, testNow.Unix())

	for _, bc := range []struct {
		name    string
		secrets [][]byte
		req     Request
	}{
		{"GET_stripe-user/1_secret", [][]byte{testSecret}, Request{Signature: Sign(testPayload, testSecret, testNow), StripeUser: p}},
		{"GET_stripe-user/2_secrets", [][]byte{testSecret2, testSecret}, Request{Signature: rotation, StripeUser: p}},
		{"GET_id_headers/1_secret", [][]byte{testSecret}, Request{Signature: Sign(testPayload, testSecret, testNow), UserID: "usr_123", AccountID: "acct_456"}},
		{"POST_1KB_body/1_secret", [][]byte{testSecret}, Request{Signature: Sign(body, testSecret, testNow), Body: body}},
		{"rejected_signature/1_secret", [][]byte{testSecret}, Request{Signature: Sign(testPayload, testSecret2, testNow), StripeUser: p}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := newTestVerifier(b, bc.secrets...)
			_, wantErr := v.VerifyRequest(bc.req, testNow)
			if (wantErr != nil) != strings.HasPrefix(bc.name, "rejected") {
				b.Fatalf("VerifyRequest: %v", wantErr)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, err := v.VerifyRequest(bc.req, testNow)
				if (err != nil) != (wantErr != nil) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifySignatureOnly is Verify alone: no payload selection and no
// identity extraction.
func BenchmarkVerifySignatureOnly(b *testing.B) {
	v := newTestVerifier(b)
	h := Sign(testPayload, testSecret, testNow)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(testPayload, h, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
