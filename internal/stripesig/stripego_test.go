package stripesig

import (
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v83/webhook"
)

// stripe-go's webhook package is the reference Go implementation. Its
// ValidatePayload* functions check only the signature (ConstructEvent also
// wants a Stripe Event), and they read the real clock, so these tests use
// time.Now() and pass the same instant to the Verifier.

func oraclePayloads() map[string][]byte {
	return map[string][]byte{
		"stripe-user":      testPayload,
		"html and unicode": UserPayload("usr_<b>&'", "acct_\u2028é😀"),
		"1 KB body":        []byte(`{"note":"` + strings.Repeat("n", 1000) + `","user_id":"usr_123","account_id":"acct_456"}`),
	}
}

func TestStripeGoSignaturesVerify(t *testing.T) {
	v := newTestVerifier(t)
	now := time.Now()
	for name, p := range oraclePayloads() {
		t.Run(name, func(t *testing.T) {
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
				Payload: p, Secret: string(testSecret), Timestamp: now,
			})
			if err := v.Verify(p, sp.Header, now); err != nil {
				t.Fatalf("Verify(stripe-go header %q): %v", sp.Header, err)
			}
			if _, err := v.VerifyIdentity(p, sp.Header, now); err != nil {
				t.Fatalf("VerifyIdentity: %v", err)
			}
			// Our Sign and stripe-go's generator must agree byte for byte.
			if ours := Sign(p, testSecret, now); ours != sp.Header {
				t.Fatalf("Sign = %q, stripe-go = %q", ours, sp.Header)
			}
		})
	}
}

func TestStripeGoRejectsWhatWeReject(t *testing.T) {
	v := newTestVerifier(t)
	now := time.Now()
	p := testPayload
	for _, tc := range []struct {
		name string
		sp   *webhook.UnsignedPayload
		send []byte
		want Code
	}{
		{"v0 scheme", &webhook.UnsignedPayload{Payload: p, Secret: string(testSecret), Timestamp: now, Scheme: "v0"}, p, CodeSignatureMalformed},
		{"other secret", &webhook.UnsignedPayload{Payload: p, Secret: "absec_other", Timestamp: now}, p, CodeSignatureInvalid},
		{"old", &webhook.UnsignedPayload{Payload: p, Secret: string(testSecret), Timestamp: now.Add(-time.Hour)}, p, CodeTimestampOutsideTolerance},
		{"other payload", &webhook.UnsignedPayload{Payload: p, Secret: string(testSecret), Timestamp: now}, []byte(`{"user_id":"usr_123","account_id":"acct_999"}`), CodeSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := webhook.GenerateTestSignedPayload(tc.sp).Header
			if got := CodeOf(v.Verify(tc.send, h, now)); got != tc.want {
				t.Fatalf("our code = %q, want %q", got, tc.want)
			}
			if webhook.ValidatePayloadWithTolerance(tc.send, h, string(testSecret), webhook.DefaultTolerance) == nil {
				t.Fatal("stripe-go accepts it; the case no longer tests a rejection")
			}
		})
	}
}

func TestOurSignaturesPassStripeGo(t *testing.T) {
	now := time.Now()
	for name, p := range oraclePayloads() {
		t.Run(name, func(t *testing.T) {
			h := Sign(p, testSecret, now)
			if err := webhook.ValidatePayloadWithTolerance(p, h, string(testSecret), DefaultTolerance); err != nil {
				t.Fatalf("stripe-go rejects our %q: %v", h, err)
			}
			// Negative controls, so a permissive oracle cannot pass this test.
			if webhook.ValidatePayloadWithTolerance(p, h, "absec_other", DefaultTolerance) == nil {
				t.Fatal("stripe-go accepted the wrong secret")
			}
			altered := append([]byte(nil), p...)
			altered[len(altered)-2] ^= 1
			if webhook.ValidatePayloadWithTolerance(altered, h, string(testSecret), DefaultTolerance) == nil {
				t.Fatal("stripe-go accepted an altered payload")
			}
		})
	}
	// A rotation header: stripe-go must accept it with either secret.
	h := Sign(testPayload, testSecret, now) + ",v1=" + macHex(testPayload, testSecret2, now.Unix())
	for _, s := range [][]byte{testSecret, testSecret2} {
		if err := webhook.ValidatePayloadWithTolerance(testPayload, h, string(s), DefaultTolerance); err != nil {
			t.Fatalf("stripe-go rejects the rotation header: %v", err)
		}
	}
}
