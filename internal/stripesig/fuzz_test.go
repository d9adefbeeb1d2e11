package stripesig

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseHeader(f *testing.F) {
	good := macHex(testPayload, testSecret, testNow.Unix())
	for _, s := range []string{
		"", ",", "t=", "t=1,v1=" + good, "t=1700000000,v1=" + good + ",v1=" + good + ",v0=ab",
		"v1=" + good + ",t=0001", "t=9223372036854775807,v1=" + good, "t=9223372036854775808,v1=" + good,
		"t=1, v1=" + good, "t=-1,v1=" + good, "t=1,v1=" + strings.ToUpper(good), "a=b=c,t=1,v1=" + good,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, err := ParseHeader(h)
		var p parsedHeader
		perr := p.parse(h)
		if (err == nil) != (perr == nil) {
			t.Fatalf("ParseHeader and parse disagree: %v vs %v", err, perr)
		}
		if err != nil {
			want := CodeSignatureMalformed
			if h == "" {
				want = CodeSignatureMissing
			}
			if CodeOf(err) != want {
				t.Fatalf("code %q, want %q", CodeOf(err), want)
			}
			return
		}
		if len(h) > MaxHeaderBytes || got.Timestamp < 0 || len(got.V1) == 0 || len(got.V1) > MaxSignatures {
			t.Fatalf("accepted out-of-range header: %+v", got)
		}
		// Rendering the parsed form canonically must parse back the same.
		canon := "t=" + strconv.FormatInt(got.Timestamp, 10)
		for i, s := range got.V1 {
			if len(s) != 32 || !bytes.Equal(s, p.sigs[i][:]) {
				t.Fatalf("V1[%d] = %x", i, s)
			}
			canon += ",v1=" + hex.EncodeToString(s)
		}
		again, err := ParseHeader(canon)
		if err != nil || again.Timestamp != got.Timestamp || !slices.EqualFunc(again.V1, got.V1, bytes.Equal) {
			t.Fatalf("canonical form %q parsed as %+v, %v; want %+v", canon, again, err, got)
		}
	})
}

var fuzzVerifier = func() *Verifier {
	v, err := NewVerifier([][]byte{testSecret}, 0)
	if err != nil {
		panic(err)
	}
	return v
}()

func FuzzVerify(f *testing.F) {
	body := `{"a":[1,{"b":"}"}],"user_id":"usr_1","account_id":"acct_1"}`
	for _, p := range []string{string(testPayload), body, `{"user\u005fid":"u","account_id":"a"}`, `{"user_id":"u","user_id":"v"}`, "[]", "x"} {
		f.Add([]byte(p), Sign([]byte(p), testSecret, testNow))
		f.Add([]byte(p), Sign([]byte(p), testSecret, testNow)+",v0=00, v1=1")
	}
	f.Add(testPayload, "t=1700000000,v1="+strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, payload []byte, header string) {
		v := fuzzVerifier
		// Arbitrary header: anything accepted must be exactly what Sign makes.
		if err := v.Verify(payload, header, testNow); err == nil {
			h, err := ParseHeader(header)
			if err != nil {
				t.Fatalf("Verify accepted a header ParseHeader rejects: %v", err)
			}
			if d := testNow.Unix() - h.Timestamp; d > 300 || d < -300 {
				t.Fatalf("accepted t=%d outside the tolerance", h.Timestamp)
			}
			_, want, _ := strings.Cut(Sign(payload, testSecret, time.Unix(h.Timestamp, 0)), ",v1=")
			if !slices.ContainsFunc(h.V1, func(s []byte) bool { return hex.EncodeToString(s) == want }) {
				t.Fatalf("accepted header %q holds no v1 that Sign makes (%s)", header, want)
			}
		} else {
			assertCleanError(t, err)
		}

		// Self-signed: the round trip must hold, and the identity must be
		// what an independent decoder (encoding/json) finds.
		if len(payload) == 0 {
			return
		}
		h := Sign(payload, testSecret, testNow)
		if err := v.Verify(payload, h, testNow); err != nil {
			t.Fatalf("Verify(Sign) = %v", err)
		}
		id, err := v.VerifyIdentity(payload, h, testNow)
		wantID, wantCode := refIdentity(payload)
		if CodeOf(err) != wantCode || id != wantID {
			t.Fatalf("VerifyIdentity = %+v, %v; reference = %+v, %q", id, err, wantID, wantCode)
		}
		if err != nil {
			assertCleanError(t, err)
		}
		rid, rerr := v.VerifyRequest(Request{Signature: h, Body: payload}, testNow)
		if rid != id || CodeOf(rerr) != CodeOf(err) {
			t.Fatalf("VerifyRequest = %+v, %v; VerifyIdentity = %+v, %v", rid, rerr, id, err)
		}
	})
}

func assertCleanError(t *testing.T, err error) {
	t.Helper()
	if CodeOf(err) == "" {
		t.Fatalf("untyped error %v", err)
	}
	if strings.Contains(err.Error(), string(testSecret)) {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

// refIdentity is the identity rule written with encoding/json's tokenizer,
// as an independent reference for the hand-written scanner.
func refIdentity(p []byte) (Identity, Code) {
	if !utf8.Valid(p) || !json.Valid(p) {
		return Identity{}, CodePayloadNotJSON
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return Identity{}, CodePayloadNotJSON
	}
	var id Identity
	seen := map[string]bool{}
	ok := map[string]bool{}
	for dec.More() {
		tok, _ := dec.Token()
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			panic(err) // unreachable: json.Valid passed
		}
		if key != "user_id" && key != "account_id" {
			continue
		}
		if seen[key] {
			return Identity{}, CodeIdentityMismatch
		}
		seen[key] = true
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			continue
		}
		ok[key] = true
		if key == "user_id" {
			id.UserID = s
		} else {
			id.AccountID = s
		}
	}
	if !ok["user_id"] || !ok["account_id"] {
		return Identity{}, CodeIdentityMissing
	}
	return id, ""
}
