package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawGet sends path exactly as given (no client-side cleaning) and returns
// the status code.
func rawGet(t *testing.T, a *atlas, path string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", a.ingress), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// (f) dot segments and encoded traversal never take a request outside the
// adapter's prefix with its key: they are rejected, 404, or land on another
// adapter with that adapter's own key.
func TestTraversalStaysInsideAdapterPrefix(t *testing.T) {
	inner, other := startRecorder(t), startRecorder(t)
	a := startAtlas(t, atlasConfig(
		adapter{name: "stripe", baseURL: fmt.Sprintf("http://127.0.0.1:%d/base", inner.port()), headers: [][2]string{{"Authorization", "Bearer sk_test_traversalKEY"}}},
		adapter{name: "other", baseURL: fmt.Sprintf("http://127.0.0.1:%d", other.port()), headers: [][2]string{{"Authorization", "Bearer other-key"}}},
	), nil)
	a.waitStatus("/v1/apis/http/stripe/ok", 200)
	a.waitStatus("/v1/apis/http/other/ok", 200)

	cases := map[string][]int{ // path → acceptable statuses
		"/v1/apis/http/stripe/../x":                    {404},
		"/v1/apis/http/stripe/../../../x":              {404},
		"/v1/apis/http/stripe/%2e%2e/x":                {404},
		"/v1/apis/http/stripe/%2E%2E/%2E%2E/x":         {404},
		"/v1/apis/http/stripe/.%2e/x":                  {404},
		"/v1/apis/http/stripe/..%2fx":                  {400},
		"/v1/apis/http/stripe/..%2Fx":                  {400},
		"/v1/apis/http/stripe/%2e%2e%2f%2e%2e%2fetc":   {400},
		"/v1/apis/http/stripe/..%5cx":                  {400},
		"/v1/apis/http/stripe/v1/../../../../etc":      {404},
		"/v1/apis/http/stripe/./v1/./charges":          {200}, // stays inside: fine
		"/v1/apis/http/stripe//v1//charges":            {200},
		"/v1/apis/http/stripe/v1/..":                   {200}, // = /base/
		"/v1/apis/http/stripe/a/../../other/x":         {200}, // = other's route, other's key
		"/v1/apis/http/./stripe/%2e%2e/other/y":        {200},
		"/v1/apis/http/stripe/..":                      {404},
		"/v1/apis/http/stripe/%2e%2e":                  {404},
		"//v1/apis/http/stripe/../../../v1/apis/http/": {404},
	}
	for path, want := range cases {
		got := rawGet(t, a, path)
		if !containsInt(want, got) {
			t.Errorf("GET %s = %d, want one of %v", path, got, want)
		}
	}
	for _, r := range inner.requests() {
		if !strings.HasPrefix(r.Path, "/base/") || strings.Contains(r.Path, "..") || strings.Contains(strings.ToLower(r.RawPath), "%2e") {
			t.Errorf("stripe's upstream got %q (raw %q): outside /base/ or not normalised", r.Path, r.RawPath)
		}
		if r.Header.Get("Authorization") != "Bearer sk_test_traversalKEY" {
			t.Errorf("stripe's upstream got Authorization %q", r.Header.Get("Authorization"))
		}
	}
	for _, r := range other.requests() {
		if r.Header.Get("Authorization") != "Bearer other-key" {
			t.Errorf("other's upstream got %s with Authorization %q: another adapter's key leaked", r.Path, r.Header.Get("Authorization"))
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// (g) an https upstream whose certificate chains to the adapter's CA works;
// without that CA, or with a host name the certificate does not carry, the
// request fails and nothing reaches the upstream.
func TestUpstreamTLSVerification(t *testing.T) {
	up, caFile := startTLSRecorder(t)
	base := fmt.Sprintf("https://127.0.0.1:%d", up.port())
	hdr := [][2]string{{"Authorization", "Bearer sk_test_tlsKEY"}}
	a := startAtlas(t, atlasConfig(
		adapter{name: "trusted", baseURL: base, caFile: caFile, headers: hdr},
		adapter{name: "untrusted", baseURL: base, headers: hdr},
		adapter{name: "wronghost", baseURL: fmt.Sprintf("https://localhost:%d", up.port()), caFile: caFile, headers: hdr},
	), nil)
	a.waitStatus("/v1/apis/http/trusted/v1/charges", 200)
	got := up.requests()
	if last := got[len(got)-1]; last.Header.Get("Authorization") != "Bearer sk_test_tlsKEY" || last.Path != "/v1/charges" {
		t.Fatalf("TLS upstream got %s with Authorization %q", last.Path, last.Header.Get("Authorization"))
	}
	before := len(got)
	for _, name := range []string{"untrusted", "wronghost"} {
		resp, body, err := a.do("GET", "/v1/apis/http/"+name+"/v1/charges", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || !strings.Contains(body, `"type":"api_error"`) {
			t.Errorf("%s: got %d %s, want 503 with a Stripe-shaped api_error", name, resp.StatusCode, body)
		}
	}
	if n := len(up.requests()); n != before {
		t.Errorf("an unverified TLS connection delivered %d request(s) to the upstream", n-before)
	}
}
