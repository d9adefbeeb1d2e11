// Package extproc is Atlas's Envoy external processor (ext_proc) service.
//
// Envoy opens one bidirectional stream per request on routes that enable the
// filter. A signed adapter's route names its adapter in the stream's gRPC
// initial metadata (translate.AdapterMetadataKey); a plain adapter's route
// (ext_proc injection mode) does not, and the server reads the adapter from
// the path Envoy routed on (translate.RoutePrefix + name). On plain adapters the server answers the
// request headers with header mutations that set the adapter's credentials
// (raw_value, overwriting any client copy). On adapters that require a
// Stripe App signature it verifies the request first (internal/verify) —
// from the headers, or from the buffered body for POST/PUT/PATCH — and either
// forwards it with credentials and the verified identity, or answers with a
// Stripe-shaped error. Configuration is swapped atomically by Update, so a
// reload reaches new streams at once without locking the request path.
package extproc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/atlas-gateway/atlas/internal/audit"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// Server implements envoy.service.ext_proc.v3.ExternalProcessor.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	log   *slog.Logger
	now   func() time.Time
	state atomic.Pointer[state]
	obs   Observer
	audit Auditor // nil: no audit log
}

// Filter is this server's value of the filter label and audit field.
const Filter = string(translate.SignatureExtProc)

// Observer is told the outcome of every request (internal/metrics
// implements it). It is called on the request path and must be cheap.
type Observer interface {
	// Decision reports a signature check: outcome is "allowed" or the
	// denial code; took is the time Atlas spent deciding.
	Decision(filter, adapter, outcome string, took time.Duration)
	// Injection reports credentials set on an unsigned adapter's request.
	Injection(adapter string)
}

// Auditor records every signature check (*audit.Logger is one).
type Auditor interface{ Log(audit.Entry) }

type nopObserver struct{}

func (nopObserver) Decision(string, string, string, time.Duration) {}
func (nopObserver) Injection(string)                               {}

// Option configures a Server.
type Option func(*Server)

// WithObserver reports decisions and injections to o.
func WithObserver(o Observer) Option { return func(s *Server) { s.obs = o } }

// WithAuditor records every signature check with a.
func WithAuditor(a Auditor) Option { return func(s *Server) { s.audit = a } }

// state is immutable: one precomputed response per plain adapter, shared by
// every stream, and the verification engine for signed adapters.
type state struct {
	headers map[string]*extprocv3.ProcessingResponse
	engine  *verify.Engine
}

// New returns a Server that knows no adapters until Update is called.
func New(log *slog.Logger, opts ...Option) *Server {
	s := &Server{log: log, now: time.Now, obs: nopObserver{}}
	for _, o := range opts {
		o(s)
	}
	empty, _ := verify.New(&model.Config{})
	s.state.Store(&state{headers: map[string]*extprocv3.ProcessingResponse{}, engine: empty})
	return s
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) { extprocv3.RegisterExternalProcessorServer(g, s) }

// Update makes cfg the configuration for every stream opened from now on.
func (s *Server) Update(cfg *model.Config) error {
	engine, err := verify.New(cfg)
	if err != nil {
		return fmt.Errorf("ext_proc: %w", err)
	}
	st := &state{headers: make(map[string]*extprocv3.ProcessingResponse, len(cfg.Adapters)), engine: engine}
	for _, a := range cfg.Adapters {
		hs := make([]verify.Header, 0, len(a.Headers))
		for _, h := range a.Headers {
			hs = append(hs, verify.Header{Name: h.Name, Value: h.Value})
		}
		st.headers[a.Name] = headersResponse(mutation(hs, nil))
	}
	s.state.Store(st)
	return nil
}

// Process serves one request's stream.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	ex := exchange{st: s.state.Load(), adapter: adapterOf(stream), now: s.now, log: s.log, obs: s.obs, audit: s.audit}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := ex.handle(req)
		if resp == nil {
			s.log.Warn("ext_proc: unexpected message for this route's processing mode", "adapter", ex.adapter)
			return status.Error(codes.FailedPrecondition, "Atlas ext_proc got a message its route's processing mode does not send")
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func adapterOf(stream grpc.ServerStream) string {
	md, _ := metadata.FromIncomingContext(stream.Context())
	if v := md.Get(translate.AdapterMetadataKey); len(v) > 0 {
		return v[0]
	}
	return ""
}
