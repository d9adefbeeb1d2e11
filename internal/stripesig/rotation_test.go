package stripesig

import (
	"fmt"
	"testing"
)

func TestRotation(t *testing.T) {
	oldSig := macHex(testPayload, testSecret, testNow.Unix())
	newSig := macHex(testPayload, testSecret2, testNow.Unix())
	third := []byte("absec_never_configured")
	both := header(testNow, newSig, oldSig)
	bothReversed := header(testNow, oldSig, newSig)

	for _, tc := range []struct {
		name    string
		secrets [][]byte
		header  string
		want    Code
	}{
		{"both secrets, both v1", [][]byte{testSecret, testSecret2}, both, ""},
		{"both secrets, v1 order reversed", [][]byte{testSecret2, testSecret}, bothReversed, ""},
		{"only old secret configured", [][]byte{testSecret}, both, ""},
		{"only new secret configured", [][]byte{testSecret2}, both, ""},
		{"both secrets, only new v1 sent", [][]byte{testSecret, testSecret2}, header(testNow, newSig), ""},
		{"both secrets, only old v1 sent", [][]byte{testSecret, testSecret2}, header(testNow, oldSig), ""},
		{"old secret removed, old v1 sent", [][]byte{testSecret2}, header(testNow, oldSig), CodeSignatureInvalid},
		{"new secret not yet configured, new v1 sent", [][]byte{testSecret}, header(testNow, newSig), CodeSignatureInvalid},
		{"unrelated secret, both v1", [][]byte{third}, both, CodeSignatureInvalid},
		{"three secrets, match on the last", [][]byte{third, []byte("absec_x"), testSecret2}, header(testNow, oldSig, newSig), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.secrets...)
			id, err := v.VerifyIdentity(testPayload, tc.header, testNow)
			if got := CodeOf(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.want)
			}
			if tc.want == "" && id != testIdentity {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
}

// TestConcurrentUse shares one Verifier (and so its pooled HMAC states and
// buffers) across goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	v := newTestVerifier(t, testSecret2, testSecret)
	reqs := []struct {
		req  Request
		want Identity
	}{
		{Request{Signature: Sign(testPayload, testSecret, testNow), StripeUser: string(testPayload)}, testIdentity},
		{Request{Signature: Sign(UserPayload("usr_a", "acct_b"), testSecret2, testNow), UserID: "usr_a", AccountID: "acct_b"}, Identity{"usr_a", "acct_b"}},
		{Request{Signature: Sign([]byte(`{"x":1,"user_id":"usr_c","account_id":"acct_d"}`), testSecret, testNow), Body: []byte(`{"x":1,"user_id":"usr_c","account_id":"acct_d"}`)}, Identity{"usr_c", "acct_d"}},
		{Request{Signature: Sign(testPayload, []byte("absec_wrong"), testNow), StripeUser: string(testPayload)}, Identity{}},
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 300 {
				r := reqs[(g+i)%len(reqs)]
				id, _ := v.VerifyRequest(r.req, testNow)
				if id != r.want {
					done <- fmt.Errorf("goroutine %d: identity %+v, want %+v", g, id, r.want)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
