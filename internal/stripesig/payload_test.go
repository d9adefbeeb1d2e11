package stripesig

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestUserPayloadMatchesJSONStringify(t *testing.T) {
	// want is what JSON.stringify({user_id, account_id}) returns; the node
	// oracle test re-checks these against a real engine.
	for _, tc := range []struct {
		name, uid, aid, want string
	}{
		{"plain", "usr_123", "acct_456", `{"user_id":"usr_123","account_id":"acct_456"}`},
		{"html chars stay literal", "usr_<b>&", "acct_>", `{"user_id":"usr_<b>&","account_id":"acct_>"}`},
		{"quote and backslash", `usr_"\`, "acct_/", `{"user_id":"usr_\"\\","account_id":"acct_/"}`},
		{"short escapes", "\b\f\n\r\t", "x", `{"user_id":"\b\f\n\r\t","account_id":"x"}`},
		{"other controls lowercase hex", "\x00\x01\x1f", "\x7f", `{"user_id":"\u0000\u0001\u001f","account_id":"` + "\x7f" + `"}`},
		{"line separators stay literal", "\u2028", "\u2029", "{\"user_id\":\"\u2028\",\"account_id\":\"\u2029\"}"},
		{"non-ASCII stays literal", "usr_é", "acct_😀", `{"user_id":"usr_é","account_id":"acct_😀"}`},
		{"empty", "", "", `{"user_id":"","account_id":""}`},
		{"invalid UTF-8 becomes U+FFFD", "\xff", "a\xc3", "{\"user_id\":\"\uFFFD\",\"account_id\":\"a\uFFFD\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(UserPayload(tc.uid, tc.aid)); got != tc.want {
				t.Fatalf("UserPayload = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUserPayloadIsNotEncodingJSON documents why the rebuild is hand
// written: encoding/json output differs and would never verify.
func TestUserPayloadIsNotEncodingJSON(t *testing.T) {
	type ids struct {
		UserID    string `json:"user_id"`
		AccountID string `json:"account_id"`
	}
	goJSON, _ := json.Marshal(ids{"usr_<b>&", "acct_\u2028"})
	if bytes.Equal(goJSON, UserPayload("usr_<b>&", "acct_\u2028")) {
		t.Fatal("encoding/json now matches JSON.stringify; the comment in UserPayload is stale")
	}
}

func TestScanIdentity(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		uid, aid      string
		want          Code
	}{
		{"minimal", `{"user_id":"u","account_id":"a"}`, "u", "a", ""},
		{"extra keys first", `{"a":[{"user_id":"x"}],"b":"}\"","user_id":"u","account_id":"a"}`, "u", "a", ""},
		{"extra keys after", `{"user_id":"u","account_id":"a","z":{"account_id":"x"}}`, "u", "a", ""},
		{"scalars around", `{"n":-1.5e3,"t":true,"f":false,"z":null,"user_id":"u","account_id":"a"}`, "u", "a", ""},
		{"escaped values", `{"user_id":"\u0075\/","account_id":"\ud83d\ude00"}`, "u/", "😀", ""},
		{"whitespace everywhere", " \t{ \"user_id\" :\n\"u\" , \"account_id\":\"a\"\r} \n", "u", "a", ""},
		{"not an object", `[]`, "", "", CodePayloadNotJSON},
		{"empty", ``, "", "", CodePayloadNotJSON},
		{"two objects", `{}{}`, "", "", CodePayloadNotJSON},
		{"unterminated", `{"user_id":"u"`, "", "", CodePayloadNotJSON},
		{"user_id false", `{"user_id":false,"account_id":"a"}`, "", "", CodeIdentityMissing},
		{"account_id array", `{"user_id":"u","account_id":["a"]}`, "", "", CodeIdentityMissing},
		{"tab in id", `{"user_id":"u\t","account_id":"a"}`, "", "", CodeIdentityMissing},
		{"DEL in id", "{\"user_id\":\"u\",\"account_id\":\"a\x7f\"}", "", "", CodeIdentityMissing},
		{"duplicate non-string then string", `{"user_id":1,"user_id":"u","account_id":"a"}`, "", "", CodeIdentityMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uid, aid, err := scanIdentity([]byte(tc.payload))
			if err != nil || tc.want != "" {
				if got := CodeOf(err); got != tc.want {
					t.Fatalf("code = %q, want %q", got, tc.want)
				}
				return
			}
			if string(uid) != tc.uid || string(aid) != tc.aid {
				t.Fatalf("got %q, %q; want %q, %q", uid, aid, tc.uid, tc.aid)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	sig := macHex(testPayload, testSecret, 1)
	h, err := ParseHeader("v0=00,t=0001,v1=" + sig + ",v1=" + sig)
	if err != nil {
		t.Fatal(err)
	}
	if h.Timestamp != 1 || len(h.V1) != 2 || len(h.V1[0]) != 32 {
		t.Fatalf("ParseHeader = %+v", h)
	}
	h.V1[0][0] ^= 0xff
	if h.V1[1][0] == h.V1[0][0] {
		t.Fatal("V1 entries share memory")
	}
	if _, err := ParseHeader(""); CodeOf(err) != CodeSignatureMissing {
		t.Fatalf("ParseHeader(\"\") = %v", err)
	}
	if _, err := ParseHeader("t=1"); CodeOf(err) != CodeSignatureMalformed {
		t.Fatalf("ParseHeader(t only) = %v", err)
	}
}
