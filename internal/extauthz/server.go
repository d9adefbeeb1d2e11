// Package extauthz is Atlas's Envoy external authorization service
// (envoy.service.auth.v3.Authorization), the selectable alternative to
// internal/extproc for routes whose adapter requires a Stripe App signature.
//
// Envoy calls Check once per request on routes that enable the ext_authz
// filter (translate.SignatureExtAuthz). The route names its adapter in the
// context extension translate.ContextAdapterKey, and the filter sends the
// buffered body as raw bytes (with_request_body, pack_as_bytes), so the
// signed payload arrives byte for byte.
//
// The server decides nothing itself: it translates the CheckRequest into a
// verify.Input, asks verify.Engine.Decide, and translates the Decision back.
// An allowed request is forwarded with the signature headers removed and the
// adapter's credentials and verified identity set, overwriting client
// copies. A refused one gets a DeniedHttpResponse carrying the HTTP status,
// the message as body and the stable code in extproc.ErrorCodeHeader, which
// Envoy's local reply config wraps in Stripe's JSON error shape. Check never
// returns a gRPC error for a request it understood, so Envoy's
// status_on_error (503) means only "verifier unreachable or too slow".
//
// Configuration is swapped atomically by Update; requests in flight finish
// with the engine they started with. Neither secrets nor signatures are
// logged.
package extauthz

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/atlas-gateway/atlas/internal/audit"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	log    *slog.Logger
	now    func() time.Time // injectable for tests
	engine atomic.Pointer[verify.Engine]
	obs    Observer
	audit  Auditor // nil: no audit log
}

// Filter is this server's value of the filter label and audit field.
const Filter = string(translate.SignatureExtAuthz)

// Observer is told the outcome of every Check (internal/metrics implements
// it). It is called on the request path and must be cheap.
type Observer interface {
	// Decision reports a signature check: outcome is "allowed" or the
	// denial code; took is the time Check spent deciding.
	Decision(filter, adapter, outcome string, took time.Duration)
}

// Auditor records every signature check (*audit.Logger is one).
type Auditor interface{ Log(audit.Entry) }

type nopObserver struct{}

func (nopObserver) Decision(string, string, string, time.Duration) {}

// Option configures a Server.
type Option func(*Server)

// WithObserver reports decisions to o.
func WithObserver(o Observer) Option { return func(s *Server) { s.obs = o } }

// WithAuditor records every Check with a.
func WithAuditor(a Auditor) Option { return func(s *Server) { s.audit = a } }

// New returns a Server that knows no adapters until Update is called: every
// Check is refused as an unknown adapter.
func New(log *slog.Logger, opts ...Option) *Server {
	s := &Server{log: log, now: time.Now, obs: nopObserver{}}
	for _, o := range opts {
		o(s)
	}
	empty, _ := verify.New(&model.Config{}) // an empty config cannot fail
	s.engine.Store(empty)
	return s
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, s) }

// Update makes cfg the configuration for every Check from now on. On error
// the previous configuration stays in force.
func (s *Server) Update(cfg *model.Config) error {
	engine, err := verify.New(cfg)
	if err != nil {
		return fmt.Errorf("ext_authz: %w", err)
	}
	s.engine.Store(engine)
	return nil
}

// Check decides one request.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	start := time.Now()
	in := inputOf(req)
	d := s.engine.Load().Decide(in, s.now())
	if d.Allow {
		resp := allowed(d)
		s.record(req, in, d, start)
		return resp, nil
	}
	s.log.DebugContext(ctx, "signed request refused",
		"request_id", req.GetAttributes().GetRequest().GetHttp().GetId(),
		"adapter", in.Adapter, "method", in.Method, "status", d.Status, "code", d.Code)
	resp := denied(d)
	s.record(req, in, d, start)
	return resp, nil
}

// record reports a Check to the observer and the audit log.
func (s *Server) record(req *authv3.CheckRequest, in verify.Input, d verify.Decision, start time.Time) {
	outcome := "allowed"
	if !d.Allow {
		outcome = d.Code
	}
	s.obs.Decision(Filter, in.Adapter, outcome, time.Since(start))
	if s.audit == nil {
		return
	}
	h := req.GetAttributes().GetRequest().GetHttp()
	s.audit.Log(audit.Entry{Filter: Filter, Adapter: in.Adapter, Method: in.Method,
		Path: h.GetPath(), RequestID: requestID(h), Decision: d})
}

// requestID is Envoy's x-request-id for the request, from whichever header
// encoding the filter uses. (HttpRequest.id is Envoy's stream id, which
// appears nowhere else.)
func requestID(h *authv3.AttributeContext_HttpRequest) string {
	if v, ok := h.GetHeaders()["x-request-id"]; ok {
		return v
	}
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		if strings.EqualFold(hv.GetKey(), "x-request-id") {
			if raw := hv.GetRawValue(); len(raw) > 0 {
				return string(raw)
			}
			return hv.GetValue()
		}
	}
	return ""
}
