package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// Shared by the signature_*_test.go files (issue #3).

// sigFilters are the two --signature-filter values; every signature test
// runs against both.
var sigFilters = []string{"extproc", "extauthz"}

const (
	// wrongSecret looks like an app secret but is configured nowhere.
	wrongSecret = "absec_e2eWrongSecretNotConfigured0"
	// otherAppSecret belongs to the StripeApp "other-app" of sigConfig.
	otherAppSecret = "absec_e2eOtherAppSecret555555555"
	// nextSecret is in atlas's environment but, until a config edit lists
	// it, in no StripeApp.
	nextSecret = "absec_e2eNextSecret000011112222"
)

// sigEnv is signedEnv plus the secrets only these tests use.
func sigEnv() map[string]string {
	env := map[string]string{"OTHER_APP_SECRET": otherAppSecret, "STRIPE_APP_SECRET_NEXT": nextSecret}
	for k, v := range signedEnv {
		env[k] = v
	}
	return env
}

// allSecrets are every secret a test knows; none may ever reach a client.
var allSecrets = []string{appSecret, appSecretPrev, wrongSecret, otherAppSecret, nextSecret, stripeKey}

// sigConfig is signedConfig (stripe onBehalfOf, backend, plain; my-app with
// secretVars, maxBodyBytes 4096) plus an adapter "other" signed by a second
// StripeApp "other-app" whose secret is $OTHER_APP_SECRET.
func sigConfig(upstreamPort int, secretVars ...string) string {
	cfg := signedConfig(upstreamPort, secretVars...)
	cfg = strings.Replace(cfg, "  exposedPorts:\n",
		"  - adapterRef:\n      apiVersion: moment.dev/adapters/v1alpha1\n      kind: HTTP\n      name: other\n  exposedPorts:\n", 1)
	cfg += fmt.Sprintf("---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata:\n  name: other\nspec:\n"+
		"  stripeApp:\n    name: other-app\n  baseUrl: http://127.0.0.1:%d/other\n  headers:\n  - name: X-Other-Key\n    value: other-key-e2e\n", upstreamPort)
	cfg += "---\napiVersion: atlas/v1alpha1\nkind: StripeApp\nmetadata:\n  name: other-app\nspec:\n  signingSecrets:\n  - ${{ OTHER_APP_SECRET }}\n"
	return cfg
}

// v1Hex is the v1 signature the verifier expects for payload at ts.
func v1Hex(payload, secret string, ts time.Time) string {
	h := stripesig.Sign([]byte(payload), []byte(secret), ts)
	return h[strings.Index(h, ",v1=")+len(",v1="):]
}

// signAt is a Stripe-Signature value for payload made with secret at ts.
func signAt(payload, secret string, ts time.Time) string {
	return stripesig.Sign([]byte(payload), []byte(secret), ts)
}

// apiError is an Atlas error body, decoded strictly.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeAPIError(body string) (apiError, error) {
	var e apiError
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	if dec.More() {
		return e, fmt.Errorf("trailing data after the JSON object")
	}
	return e, nil
}

// anyHex64 is any run that could be an HMAC-SHA256 in hex; anySecret is an
// app secret (the bare prefix "absec_…" in a hint is fine).
var (
	anyHex64  = regexp.MustCompile(`(?i)[0-9a-f]{64}`)
	anySecret = regexp.MustCompile(`absec_[A-Za-z0-9]`)
)

// checkError asserts a Stripe-shaped JSON error with exactly status, type and
// code, a non-empty message, and no secret, nothing shaped like an app secret
// and no HMAC-looking hex (which covers every expected signature) in the
// body; forbidden adds more strings that must not appear.
func checkError(t *testing.T, resp *http.Response, body string, status int, errType, code string, forbidden ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json; body %s", ct, body)
	}
	e, err := decodeAPIError(body)
	if err != nil {
		t.Errorf("body is not a Stripe-shaped JSON error (%v): %s", err, body)
		return
	}
	if e.Error.Type != errType || e.Error.Code != code {
		t.Errorf("error type/code %q/%q, want %q/%q; message %q", e.Error.Type, e.Error.Code, errType, code, e.Error.Message)
	}
	if strings.TrimSpace(e.Error.Message) == "" {
		t.Errorf("error message is empty: %s", body)
	}
	if m := anySecret.FindString(body); m != "" {
		t.Errorf("error body holds something shaped like an app secret (%s…): %s", m, body)
	}
	for _, s := range append(append([]string(nil), allSecrets...), forbidden...) {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("error body reveals %q: %s", s, body)
		}
	}
	if m := anyHex64.FindString(body); m != "" {
		t.Errorf("error body holds a signature-like hex string %s: %s", m, body)
	}
}

// startSigned starts atlas on sigConfig with secretVars and filter, and
// waits until the plain adapter answers (one request to up).
func startSigned(t *testing.T, up *recorder, filter string, secretVars ...string) *atlas {
	t.Helper()
	a := startAtlas(t, sigConfig(up.port(), secretVars...), sigEnv(), "--signature-filter", filter)
	a.waitStatus("/v1/apis/http/plain/ready", 200)
	return a
}

// mustDo sends one request and fails the test on a transport error.
func mustDo(t *testing.T, a *atlas, method, path string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	resp, b, err := a.do(method, path, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// want200 fails unless a signed request is answered 200 and forwarded once.
func want200(t *testing.T, a *atlas, up *recorder, method, path, body string, hdr ...string) recorded {
	t.Helper()
	before := len(up.requests())
	resp, b := mustDo(t, a, method, path, strings.NewReader(body), hdr...)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: status %d, want 200; body %s", method, path, resp.StatusCode, b)
	}
	got := up.requests()[before:]
	if len(got) != 1 {
		t.Fatalf("%s %s: upstream saw %d requests, want 1", method, path, len(got))
	}
	return got[0]
}

// checkIdentity asserts what a verified request looks like upstream.
func checkIdentity(t *testing.T, r recorded, user, account string, onBehalf bool) {
	t.Helper()
	if got := r.Header.Get("Atlas-Verified-User-Id") + "/" + r.Header.Get("Atlas-Verified-Account-Id"); got != user+"/"+account {
		t.Errorf("identity headers %q, want %s/%s", got, user, account)
	}
	if got := r.Header.Values("Atlas-Verified-Stripe-App"); len(got) != 1 || got[0] != "my-app" {
		t.Errorf("Atlas-Verified-Stripe-App = %q, want [my-app]", got)
	}
	for _, h := range []string{"Stripe-Signature", "Stripe-User", "Stripe-User-Id", "Stripe-Account-Id"} {
		if v := r.Header.Values(h); len(v) != 0 {
			t.Errorf("%s reached the upstream: %q", h, v)
		}
	}
	if onBehalf {
		if v := r.Header.Values("Stripe-Account"); len(v) != 1 || v[0] != account {
			t.Errorf("Stripe-Account = %q, want [%s]", v, account)
		}
		if v := r.Header.Get("Authorization"); v != "Bearer "+stripeKey {
			t.Errorf("Authorization = %q, want the injected key", v)
		}
	}
}

// bodyRecorder is an upstream that also records request bodies.
type bodyRecorder struct {
	mu     sync.Mutex
	reqs   []recorded
	bodies []string
	srv    *httptest.Server
}

func startBodyRecorder(t *testing.T) *bodyRecorder {
	t.Helper()
	r := &bodyRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b bytes.Buffer
		_, _ = io.Copy(&b, req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.RawPath, req.Host, req.Header.Clone()})
		r.bodies = append(r.bodies, b.String())
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, req.URL.Path)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *bodyRecorder) snapshot() ([]recorded, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...), append([]string(nil), r.bodies...)
}

func (r *bodyRecorder) port() int { return r.srv.Listener.Addr().(*net.TCPAddr).Port }
