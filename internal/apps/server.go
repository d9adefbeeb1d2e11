// Package apps is Atlas's HTTP server for Stripe App endpoints that Atlas
// answers itself instead of forwarding: the Stripe-compatible Secret Store
// (/v1/apps/secrets…) and, mounted with Handle, the OAuth broker.
//
// Envoy routes /v1/apps/, /v1/oauth/ and /v1/apis/oauth/ to this server
// (internal/translate, cluster atlas_apps) with no ext_proc or ext_authz
// call: the server authenticates every request itself (Authenticate), with
// the same stripesig code the filters use, so it never trusts a header it
// did not verify. It listens on loopback only; Envoy is the edge.
//
// Which StripeApp a request is for: with one StripeApp in the
// configuration, that one; with several, the request names it in the
// Atlas-Stripe-App header (Stripe's API has no parameter for it).
//
// Every response is JSON shaped like Stripe's, errors included
// ({"error":{"type":…,"code":…,"message":…}}), carries a Request-Id, and is
// never cached. Secret payloads and keys are never logged.
package apps

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// HeaderStripeApp names the StripeApp a request is for when the
// configuration has several.
const HeaderStripeApp = "Atlas-Stripe-App"

// Server serves the apps endpoints. Update swaps its configuration
// atomically; requests in flight keep the one they started with.
type Server struct {
	log     *slog.Logger
	secrets store.AppSecretStore
	now     func() time.Time
	state   atomic.Pointer[state]
	mux     *http.ServeMux
}

// state is one configuration's apps; immutable once built.
type state struct {
	apps  map[string]*app
	names []string // sorted
}

// app is one StripeApp's precomputed verification settings.
type app struct {
	name     string
	verifier *stripesig.Verifier
	maxBody  int64
	// keyHash is SHA-256 of spec.appKey: comparing fixed-length hashes in
	// constant time leaks neither the key nor its length.
	keyHash [sha256.Size]byte
	hasKey  bool
}

// New returns a Server that keeps secrets in st. now is the clock for
// signature tolerance and expiry (nil means time.Now). It serves nothing
// useful until Update gives it a configuration.
func New(log *slog.Logger, st store.AppSecretStore, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{log: log, secrets: st, now: now, mux: http.NewServeMux()}
	s.state.Store(&state{apps: map[string]*app{}})
	s.mux.HandleFunc("/v1/apps/secrets", s.secretsRoot)
	s.mux.HandleFunc("/v1/apps/secrets/find", s.onlyMethod(http.MethodGet, s.find))
	s.mux.HandleFunc("/v1/apps/secrets/delete", s.onlyMethod(http.MethodPost, s.delete))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, r, unrecognizedURL(r)) })
	return s
}

// Update builds a verifier per StripeApp of cfg and swaps them in. On
// error nothing changes.
func (s *Server) Update(cfg *model.Config) error {
	next := &state{apps: make(map[string]*app, len(cfg.StripeApps))}
	for _, sa := range cfg.StripeApps {
		secrets := make([][]byte, len(sa.SigningSecrets))
		for i, sec := range sa.SigningSecrets {
			secrets[i] = []byte(sec)
		}
		v, err := stripesig.NewVerifier(secrets, sa.Tolerance)
		if err != nil {
			return fmt.Errorf("apps server: StripeApp %q (%s): %w", sa.Name, sa.Source, err)
		}
		a := &app{name: sa.Name, verifier: v, maxBody: int64(sa.MaxBodyBytes)}
		if a.maxBody == 0 {
			a.maxBody = model.DefaultMaxBodyBytes
		}
		if sa.AppKey != "" {
			a.keyHash, a.hasKey = sha256.Sum256([]byte(sa.AppKey)), true
		}
		next.apps[sa.Name] = a
		next.names = append(next.names, sa.Name)
	}
	sort.Strings(next.names)
	s.state.Store(next)
	return nil
}

// Handle mounts h on pattern (http.ServeMux syntax) beside the Secret
// Store, for other Atlas-served endpoints such as the OAuth broker. Its
// responses get a Request-Id and Cache-Control: no-store too.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newID("req_", 14)
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	h := w.Header()
	h.Set("Request-Id", id)
	h.Set("Cache-Control", "no-store")
	log := s.log.With("request_id", id)
	s.mux.ServeHTTP(rec, r.WithContext(withLogger(r.Context(), log)))
	level := slog.LevelDebug
	switch {
	case rec.status >= 500:
		level = slog.LevelError
	case rec.status >= 400:
		level = slog.LevelInfo
	}
	log.Log(r.Context(), level, "apps request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"code", rec.code, "took", time.Since(start).String())
}

// recorder remembers the status and error code written, for the log line.
type recorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// pick returns the StripeApp a request is for.
func (st *state) pick(r *http.Request) (*app, *APIError) {
	named := joined(r.Header, HeaderStripeApp)
	switch {
	case named != "":
		if a, ok := st.apps[named]; ok {
			return a, nil
		}
		return nil, &APIError{Status: http.StatusBadRequest, Code: CodeUnknownStripeApp, Message: fmt.Sprintf(
			"The %s header names no StripeApp in this Atlas configuration; send the metadata.name of one of its StripeApp documents.", HeaderStripeApp)}
	case len(st.names) == 1:
		return st.apps[st.names[0]], nil
	case len(st.names) == 0:
		return nil, &APIError{Status: http.StatusNotFound, Code: CodeUnknownStripeApp, Message: "This Atlas configuration has no StripeApp, so it serves no Stripe App endpoints; add a `kind: StripeApp` document."}
	}
	return nil, &APIError{Status: http.StatusBadRequest, Code: CodeStripeAppRequired, Message: fmt.Sprintf(
		"This Atlas serves several Stripe Apps; name the one this request is for in the %s header (its StripeApp metadata.name).", HeaderStripeApp)}
}

// joined returns every value of header name joined by ",", so a repeated
// header never hides behind its first copy.
func joined(h http.Header, name string) string {
	return strings.Join(h.Values(name), ",")
}

func (s *Server) onlyMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			writeError(w, r, unrecognizedURL(r))
			return
		}
		h(w, r)
	}
}
