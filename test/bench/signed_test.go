package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

func TestParseRows(t *testing.T) {
	for in, want := range map[string][]string{
		"1,2,3":                        {rowPlain, rowStatic, rowExtproc},
		"5, 1 ,4":                      {rowPlain, rowSigGet, rowSigPost},
		"plain,authz-post,6,plain":     {rowPlain, rowAuthzGet, rowAuthzPost},
		"all":                          allRows,
		strings.Join(defaultRows, ","): defaultRows,
		"":                             nil,
	} {
		got, err := parseRows(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseRows(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "9", "sig", "1,x"} {
		if _, err := parseRows(bad); err == nil {
			t.Errorf("parseRows(%q): want error", bad)
		}
	}
	if len(defaultRows) != 7 || slices.Contains(defaultRows, rowPlainPost) {
		t.Errorf("default rows %v", defaultRows)
	}
}

// Every row's request verifies with the secret, for as long as wrk runs.
func TestRequestForSigns(t *testing.T) {
	secret := "absec_test_secret"
	v, err := stripesig.NewVerifier([][]byte{[]byte(secret)}, 300*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, row := range allRows {
		r := target{row: row, url: "http://x/", appSecret: secret, headers: []string{"Authorization: Bearer k"}}.requestFor(now)
		h := http.Header{}
		for _, kv := range r.headers {
			k, val, ok := strings.Cut(kv, ": ")
			if !ok {
				t.Fatalf("%s: header %q", row, kv)
			}
			h.Add(k, val)
		}
		ri := rowInfos[row]
		if ri.post != (r.method == "POST") || ri.post != (r.body != nil) {
			t.Errorf("%s: method %s, body %d bytes", row, r.method, len(r.body))
		}
		if !ri.signed {
			if h.Get("Stripe-Signature") != "" {
				t.Errorf("%s: unsigned row sends a signature", row)
			}
			continue
		}
		req := stripesig.Request{Signature: h.Get("Stripe-Signature"), StripeUser: h.Get("Stripe-User"), Body: r.body}
		for _, at := range []time.Time{now, now.Add(4 * time.Minute)} {
			id, err := v.VerifyRequest(req, at)
			if err != nil || id.AccountID != benchAccountID || id.UserID != benchUserID {
				t.Errorf("%s at +%v: %+v, %v", row, at.Sub(now), id, err)
			}
		}
	}
	if len(signedBody) != 1024 {
		t.Errorf("body is %d bytes", len(signedBody))
	}
}

func TestLuaQuote(t *testing.T) {
	if got, want := luaQuote([]byte("a\"b\\c\n{}é")), `"a\034b\092c\010{}\195\169"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCheckSigned(t *testing.T) {
	good := http.Header{}
	good.Set(hdrVerifiedAccount, benchAccountID)
	good.Set(hdrVerifiedUser, benchUserID)
	good.Set(hdrStripeAccount, benchAccountID)
	if p := checkSigned(good); p != "" {
		t.Fatal(p)
	}
	for name, mutate := range map[string]func(http.Header){
		"no identity":       func(h http.Header) { h.Del(hdrVerifiedAccount) },
		"wrong account":     func(h http.Header) { h.Set(hdrVerifiedAccount, "acct_other") },
		"two accounts":      func(h http.Header) { h.Add(hdrVerifiedAccount, benchAccountID) },
		"no Stripe-Account": func(h http.Header) { h.Del(hdrStripeAccount) },
		"signature left":    func(h http.Header) { h.Set("Stripe-Signature", "t=1,v1=00") },
		"stripe-user left":  func(h http.Header) { h.Set("Stripe-User", "{}") },
	} {
		h := good.Clone()
		mutate(h)
		if checkSigned(h) == "" {
			t.Errorf("%s: accepted", name)
		}
	}
}

// ext_authz denials and errors explain an invalid signed run; its ok
// counter does not.
func TestEnvoyCountersExtAuthz(t *testing.T) {
	for _, name := range []string{"http.atlas_ingress.ext_authz.atlas.denied", "http.atlas_ingress.ext_authz.atlas.error", "http.atlas_ingress.ext_proc.atlas.message_timeouts"} {
		if !envoyStatRE.MatchString(name) {
			t.Errorf("%s not recorded", name)
		}
	}
	got := errorCounters(map[string]int64{"http.atlas_ingress.ext_authz.atlas.ok": 10, "http.atlas_ingress.ext_authz.atlas.denied": 2})
	if got != "http.atlas_ingress.ext_authz.atlas.denied=2" {
		t.Errorf("errorCounters: %q", got)
	}
}
