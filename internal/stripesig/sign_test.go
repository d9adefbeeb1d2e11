package stripesig

import (
	"strings"
	"testing"
	"time"
)

func TestSignMatchesIndependentHMAC(t *testing.T) {
	got := Sign(testPayload, testSecret, testNow)
	want := "t=1700000000,v1=" + macHex(testPayload, testSecret, testNow.Unix())
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSignKnownVector(t *testing.T) {
	// Computed once with stripe-node 23.1.0's generateTestHeaderString, so
	// this pins the wire format even when node is not at hand.
	got := Sign([]byte(`{"user_id":"usr_1","account_id":"acct_1"}`), []byte("absec_vector"), time.Unix(1700000000, 0))
	const want = "t=1700000000,v1=" + knownVectorV1
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSecretWarning(t *testing.T) {
	for _, tc := range []struct {
		name, secret, want string
	}{
		{"app secret", "absec_abc", ""},
		{"empty", "", "empty"},
		{"webhook secret", "whsec_abc", "does not start with absec_"},
		{"trailing newline", "absec_abc\n", "whitespace"},
		{"leading space", " absec_abc", "whitespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SecretWarning([]byte(tc.secret))
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("SecretWarning = %q, want it to contain %q", got, tc.want)
			}
			if tc.secret != "" && strings.Contains(got, strings.TrimSpace(tc.secret)) {
				t.Fatalf("warning %q leaks the secret", got)
			}
		})
	}
}

const knownVectorV1 = "07772976ea1a88222bdc71ac95bade472938dd68378b85d07363cffa380bad02"
