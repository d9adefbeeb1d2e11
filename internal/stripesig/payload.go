package stripesig

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Identity is who signed a payload: the Stripe user and the account they
// were acting in.
type Identity struct {
	UserID    string // usr_…
	AccountID string // acct_…
}

// UserPayload returns the JSON that a Stripe App signs for a GET-style
// request, {"user_id":"<userID>","account_id":"<accountID>"}, byte for byte
// as JSON.stringify writes it: keys in that order, no spaces, and only ",
// \ and control characters escaped. encoding/json would differ (it escapes
// <, >, &, U+2028 and U+2029), and any difference breaks the signature.
// Invalid UTF-8 is written as U+FFFD, which JSON.stringify cannot produce,
// so such ids never verify.
func UserPayload(userID, accountID string) []byte {
	return appendUserPayload(make([]byte, 0, len(`{"user_id":"","account_id":""}`)+len(userID)+len(accountID)), userID, accountID)
}

func appendUserPayload(b []byte, userID, accountID string) []byte {
	b = append(b, `{"user_id":`...)
	b = appendJSString(b, userID)
	b = append(b, `,"account_id":`...)
	b = appendJSString(b, accountID)
	return append(b, '}')
}

// appendJSString follows ECMAScript's QuoteJSONString.
func appendJSString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

// identityOf extracts the identity from a verified payload.
func identityOf(payload []byte) (Identity, *Error) {
	uid, aid, err := scanIdentity(payload)
	if err != nil {
		return Identity{}, err
	}
	return newIdentity(uid, aid), nil
}

// newIdentity copies both ids into one allocation.
func newIdentity(uid, aid []byte) Identity {
	s := string(uid) + string(aid)
	return Identity{UserID: s[:len(uid)], AccountID: s[len(uid):]}
}

// scanIdentity returns the decoded top-level "user_id" and "account_id"
// string values of a JSON object. Without escapes they alias payload, so the
// common case does not allocate.
//
// Keys match exactly (as in JSON.parse), not case-insensitively as
// encoding/json does for structs. A repeated user_id or account_id is
// rejected rather than resolved: JSON.stringify never writes one, and
// parsers disagree on which copy wins.
func scanIdentity(p []byte) (uid, aid []byte, _ *Error) {
	// json.Valid first, so the scanner below may assume well-formed input
	// and only has to find top-level keys.
	if !utf8.Valid(p) || !json.Valid(p) {
		return nil, nil, errPayloadNotJSON
	}
	i := skipWS(p, 0)
	if p[i] != '{' {
		return nil, nil, errPayloadNotJSON
	}
	var haveUID, haveAID, uidOK, aidOK bool
	for i = skipWS(p, i+1); p[i] != '}'; {
		kStart := i
		i = skipString(p, i)
		key := p[kStart:i]
		i = skipWS(p, i)   // at ':'
		i = skipWS(p, i+1) // at the value
		vStart := i
		i = skipValue(p, i)
		val := p[vStart:i]

		var dst *[]byte
		var have, ok *bool
		switch {
		case jsonStringIs(key, "user_id"):
			dst, have, ok = &uid, &haveUID, &uidOK
		case jsonStringIs(key, "account_id"):
			dst, have, ok = &aid, &haveAID, &aidOK
		}
		if dst != nil {
			if *have {
				return nil, nil, errDuplicateIdentity
			}
			*have = true
			if val[0] == '"' {
				*dst = unquote(val)
				*ok = usableID(*dst)
			}
		}

		i = skipWS(p, i)
		if p[i] == ',' {
			i = skipWS(p, i+1)
		}
	}
	if !uidOK {
		return nil, nil, errUserIDMissing
	}
	if !aidOK {
		return nil, nil, errAccountIDMissing
	}
	return uid, aid, nil
}

// usableID rejects empty ids and control characters: the account id becomes
// the Stripe-Account header upstream, where CR, LF or NUL would be header
// injection.
func usableID(id []byte) bool {
	if len(id) == 0 {
		return false
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// jsonStringIs reports whether the JSON string token tok decodes to want.
func jsonStringIs(tok []byte, want string) bool {
	if len(tok) == len(want)+2 && string(tok[1:len(tok)-1]) == want {
		return true
	}
	if !hasBackslash(tok) {
		return false
	}
	// Rare: an escaped key such as "user\u005fid" means user_id to
	// JSON.parse, so it must mean it here too.
	return string(unquote(tok)) == want
}

// unquote decodes a valid JSON string token.
func unquote(tok []byte) []byte {
	if !hasBackslash(tok) {
		return tok[1 : len(tok)-1]
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return nil // unreachable: the payload passed json.Valid
	}
	return []byte(s)
}

func hasBackslash(b []byte) bool { return bytes.IndexByte(b, '\\') >= 0 }

func skipWS(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string token starting at p[i].
// It jumps from quote to quote (IndexByte is vectorised) and treats a quote
// as closing when an even number of backslashes precede it.
func skipString(p []byte, i int) int {
	for i++; ; {
		q := i + bytes.IndexByte(p[i:], '"')
		n := 0
		for j := q - 1; j >= i && p[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index just past the value starting at p[i].
func skipValue(p []byte, i int) int {
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch p[i] {
			case '"':
				i = skipString(p, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(p) {
		switch p[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
