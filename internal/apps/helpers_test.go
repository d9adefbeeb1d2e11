package apps

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

const (
	testSecret = "absec_apps_test_signing_s3cr3t"
	testAppKey = "appkey_apps_test_s3cr3t_0123456789"
	otherKey   = "appkey_other_app_s3cr3t_987654321"
)

// clock is the server's settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// harness is a Server on a fresh SQLite store, with its logs captured.
type harness struct {
	t     *testing.T
	srv   *Server
	clock *clock
	logs  *bytes.Buffer
	store *store.SQLite
}

func oneApp() *model.Config {
	return &model.Config{StripeApps: []model.StripeApp{{
		Name: "my-app", SigningSecrets: []string{testSecret}, Tolerance: 300 * time.Second,
		MaxBodyBytes: 4096, AppKey: testAppKey,
	}}}
}

func newHarness(t *testing.T, cfg *model.Config) *harness {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "atlas.db"), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, clock: &clock{now: time.Now()}, logs: &bytes.Buffer{}, store: st}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.srv = New(log, st, h.clock.Now)
	if err := h.srv.Update(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range []string{testSecret, testAppKey, otherKey, "s3cr3t-payload"} {
			if strings.Contains(h.logs.String(), s) {
				t.Errorf("the log shows %q:\n%s", s, h.logs.String())
			}
		}
	})
	return h
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// user is a signed frontend identity.
type user struct{ id, account string }

var (
	alice = user{"usr_alice", "acct_1"}
	bob   = user{"usr_bob", "acct_1"}
	carol = user{"usr_carol", "acct_2"}
)

// frontend returns the headers of a request signed the header way: the
// stripe-user JSON and its Stripe-Signature.
func (h *harness) frontend(u user) http.Header {
	payload := string(stripesig.UserPayload(u.id, u.account))
	return http.Header{
		"Stripe-Signature": {stripesig.Sign([]byte(payload), []byte(testSecret), h.clock.Now())},
		"Stripe-User":      {payload},
	}
}

// backend returns the headers stripe-go sends with a key and a
// Stripe-Account.
func backend(key, account string) http.Header {
	return http.Header{"Authorization": {"Bearer " + key}, "Stripe-Account": {account}}
}

type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

// do sends a request: GETs carry form in the query string, POSTs in a
// form-encoded body, as Stripe's clients do.
func (h *harness) do(method, path string, form url.Values, hdr http.Header) response {
	h.t.Helper()
	var body io.Reader
	target := path
	if method == http.MethodGet && len(form) > 0 {
		target += "?" + form.Encode()
	} else if len(form) > 0 {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return h.send(req)
}

func (h *harness) send(req *http.Request) response {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	r := response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &r.json); err != nil {
		h.t.Fatalf("%s %s: the response is not a JSON object (%v): %s", req.Method, req.URL, err, r.body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("Content-Type = %q", ct)
	}
	if !strings.HasPrefix(rec.Header().Get("Request-Id"), "req_") {
		h.t.Errorf("Request-Id = %q", rec.Header().Get("Request-Id"))
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		h.t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	return r
}

// ok fails unless r is a 200.
func (r response) ok(t *testing.T) response {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	return r
}

// apiError checks that r is a Stripe-shaped error with status and code.
func (r response) apiError(t *testing.T, status int, code string) {
	t.Helper()
	e, _ := r.json["error"].(map[string]any)
	if r.status != status || e == nil || e["code"] != code {
		t.Fatalf("got %d %s, want %d with code %s", r.status, r.body, status, code)
	}
	if e["type"] != TypeInvalidRequest && e["type"] != TypeAPI {
		t.Errorf("error type %v", e["type"])
	}
	if msg, _ := e["message"].(string); len(msg) < 20 {
		t.Errorf("error message %q says too little", msg)
	}
	for _, s := range []string{testSecret, testAppKey, otherKey, "s3cr3t-payload"} {
		if strings.Contains(r.body, s) {
			t.Errorf("the error shows a secret: %s", r.body)
		}
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, _ := cur.(map[string]any)
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}
