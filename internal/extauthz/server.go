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
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	log    *slog.Logger
	now    func() time.Time // injectable for tests
	engine atomic.Pointer[verify.Engine]
}

// New returns a Server that knows no adapters until Update is called: every
// Check is refused as an unknown adapter.
func New(log *slog.Logger) *Server {
	s := &Server{log: log, now: time.Now}
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
	in := inputOf(req)
	d := s.engine.Load().Decide(in, s.now())
	if d.Allow {
		return allowed(d), nil
	}
	s.log.DebugContext(ctx, "signed request refused",
		"request_id", req.GetAttributes().GetRequest().GetHttp().GetId(),
		"adapter", in.Adapter, "method", in.Method, "status", d.Status, "code", d.Code)
	return denied(d), nil
}
