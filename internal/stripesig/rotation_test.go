package stripesig

import "testing"

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
