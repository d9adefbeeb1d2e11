package stripesig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"
)

// Fixed clock and secrets: every test outside the SDK oracles is
// deterministic.
var (
	testNow      = time.Unix(1_700_000_000, 0)
	testSecret   = []byte("absec_test_4eC39HqLyjWDarjtT1zdp7dc")
	testSecret2  = []byte("absec_test_rotated_9f8e7d6c5b4a3210")
	testPayload  = []byte(`{"user_id":"usr_123","account_id":"acct_456"}`)
	testIdentity = Identity{UserID: "usr_123", AccountID: "acct_456"}
)

func newTestVerifier(t testing.TB, secrets ...[]byte) *Verifier {
	t.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{testSecret}
	}
	v, err := NewVerifier(secrets, 0)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// macHex is an independent HMAC (not the package's writeSigned), so a bug
// there cannot hide in both the code and its tests.
func macHex(payload, secret []byte, ts int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10) + "." + string(payload)))
	return hex.EncodeToString(m.Sum(nil))
}

func tsStr(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func header(t time.Time, v1 ...string) string {
	h := "t=" + tsStr(t)
	for _, s := range v1 {
		h += ",v1=" + s
	}
	return h
}
