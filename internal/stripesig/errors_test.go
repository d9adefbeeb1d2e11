package stripesig

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestErrorMessagesLeakNothing runs every rejection path and checks that
// the error text holds no secret and no signature the verifier computed,
// and that every failure has a code, a message and a hint how to fix it.
func TestErrorMessagesLeakNothing(t *testing.T) {
	secrets := [][]byte{testSecret, testSecret2}
	v := newTestVerifier(t, secrets...)
	var forbidden []string
	for _, s := range secrets {
		forbidden = append(forbidden, string(s), strings.TrimPrefix(string(s), AppSecretPrefix),
			hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s))
	}
	cases := badCases()
	// Paths only reached through the other entry points or other clocks.
	cases = append(cases,
		badCase{"far future with hostile t", Request{Signature: "t=9223372036854775807,v1=" + strings.Repeat("0", 64), StripeUser: "x"}, CodeTimestampOutsideTolerance},
	)
	codes := map[Code]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyRequest(tc.req, testNow)
			checkMessage(t, err, tc.want, forbidden, tc.req)
			codes[CodeOf(err)] = true

			payload := tc.req.Body
			if len(payload) == 0 {
				payload = []byte(tc.req.StripeUser)
			}
			_, err = v.VerifyIdentity(payload, tc.req.Signature, testNow)
			if err != nil {
				checkMessage(t, err, CodeOf(err), forbidden, tc.req)
			}
		})
	}
	for _, c := range []Code{CodeSignatureMissing, CodeSignatureMalformed, CodeTimestampOutsideTolerance, CodeSignatureInvalid,
		CodePayloadMissing, CodePayloadNotJSON, CodeIdentityMissing, CodeIdentityMismatch} {
		if !codes[c] {
			t.Errorf("no case produced %q", c)
		}
	}
}

func checkMessage(t *testing.T, err error, want Code, forbidden []string, req Request) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Code != want {
		t.Fatalf("code = %q, want %q", e.Code, want)
	}
	if len(e.Message) < 40 || !strings.Contains(e.Message, ";") {
		t.Errorf("message %q is too terse to say what to fix", e.Message)
	}
	msg := e.Error()
	for _, f := range forbidden {
		if strings.Contains(msg, f) {
			t.Fatalf("message %q leaks a secret", msg)
		}
	}
	// Expected signatures for the header's t and for now, for every secret
	// and every payload this request could mean.
	var tss []int64
	if h, err := ParseHeader(req.Signature); err == nil {
		tss = append(tss, h.Timestamp)
	}
	tss = append(tss, testNow.Unix())
	for _, payload := range [][]byte{req.Body, []byte(req.StripeUser), UserPayload(req.UserID, req.AccountID)} {
		for _, s := range [][]byte{testSecret, testSecret2} {
			for _, ts := range tss {
				if sig := macHex(payload, s, ts); strings.Contains(msg, sig) || strings.Contains(msg, sig[:16]) {
					t.Fatalf("message %q leaks an expected signature", msg)
				}
			}
		}
	}
	// Nor request bytes: they are attacker-controlled and end up in logs.
	for _, b := range []string{"usr_123", "acct_456", "usr_999", "acct_999", "usr_evil"} {
		if strings.Contains(msg, b) {
			t.Fatalf("message %q echoes request data", msg)
		}
	}
}

func TestToleranceMessageSaysDirection(t *testing.T) {
	v := newTestVerifier(t)
	for _, tc := range []struct {
		skew time.Duration
		want string
	}{
		{-400 * time.Second, "400 s in the past, outside the tolerance of 300 s"},
		{400 * time.Second, "400 s in the future, outside the tolerance of 300 s"},
	} {
		err := v.Verify(testPayload, Sign(testPayload, testSecret, testNow.Add(tc.skew)), testNow)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("skew %v: error %v, want it to contain %q", tc.skew, err, tc.want)
		}
	}
}

func TestCodeOf(t *testing.T) {
	if got := CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q", got)
	}
	if got := CodeOf(fmt.Errorf("ext_authz: %w", errSignatureInvalid)); got != CodeSignatureInvalid {
		t.Errorf("CodeOf(wrapped) = %q", got)
	}
	if got := CodeOf(fmt.Errorf("other")); got != "" {
		t.Errorf("CodeOf(other) = %q", got)
	}
}

// TestVerifyReturnsUntypedNil guards the classic typed-nil bug: the
// internal *Error nil must not become a non-nil error.
func TestVerifyReturnsUntypedNil(t *testing.T) {
	v := newTestVerifier(t)
	h := Sign(testPayload, testSecret, testNow)
	if err := v.Verify(testPayload, h, testNow); err != nil {
		t.Fatalf("Verify = %#v", err)
	}
	if _, err := v.VerifyIdentity(testPayload, h, testNow); err != nil {
		t.Fatalf("VerifyIdentity = %#v", err)
	}
	if _, err := v.VerifyRequest(Request{Signature: h, StripeUser: string(testPayload)}, testNow); err != nil {
		t.Fatalf("VerifyRequest = %#v", err)
	}
}
