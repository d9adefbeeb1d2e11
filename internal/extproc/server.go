// Package extproc is Atlas's Envoy external processor (ext_proc) service.
//
// Envoy opens one bidirectional stream per request on routes that enable the
// filter; the route names its adapter in the stream's gRPC initial metadata
// (translate.AdapterMetadataKey). For request headers the server answers with
// header mutations that set the adapter's credentials (raw_value, overwriting
// any client copy). Configuration is swapped atomically by Update, so a reload
// reaches new streams at once without locking the request path.
package extproc

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// Server implements envoy.service.ext_proc.v3.ExternalProcessor.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	log   *slog.Logger
	state atomic.Pointer[state]
}

// state is immutable: one precomputed response per adapter, shared by every
// stream, so the request path allocates nothing to build it.
type state struct {
	headers map[string]*extprocv3.ProcessingResponse
}

// New returns a Server that knows no adapters until Update is called.
func New(log *slog.Logger) *Server {
	s := &Server{log: log}
	s.state.Store(&state{headers: map[string]*extprocv3.ProcessingResponse{}})
	return s
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) { extprocv3.RegisterExternalProcessorServer(g, s) }

// Update makes cfg the configuration for every stream opened from now on.
func (s *Server) Update(cfg *model.Config) {
	st := &state{headers: make(map[string]*extprocv3.ProcessingResponse, len(cfg.Adapters))}
	for _, a := range cfg.Adapters {
		st.headers[a.Name] = headersResponse(a.Headers)
	}
	s.state.Store(st)
}

func headersResponse(hs []model.Header) *extprocv3.ProcessingResponse {
	set := make([]*corev3.HeaderValueOption, 0, len(hs))
	for _, h := range hs {
		set = append(set, &corev3.HeaderValueOption{
			// Since Envoy 1.27 only raw_value carries the bytes.
			Header:       &corev3.HeaderValue{Key: h.Name, RawValue: []byte(h.Value)},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
			HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: set},
		}},
	}}
}

// Process serves one request's stream.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	adapter := adapterOf(stream)
	st := s.state.Load()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := respond(st, adapter, req)
		if resp == nil {
			s.log.Warn("ext_proc: unexpected message for a headers-only route", "adapter", adapter)
			return status.Error(codes.FailedPrecondition, "Atlas ext_proc only processes request headers on this route")
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func respond(st *state, adapter string, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	if _, ok := req.GetRequest().(*extprocv3.ProcessingRequest_RequestHeaders); !ok {
		return nil
	}
	if r, ok := st.headers[adapter]; ok {
		return r
	}
	// A route can outlive its adapter for the moment between a reload here
	// and Envoy receiving the new routes: answer as the 404 route would.
	return notFound
}

var notFound = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
	ImmediateResponse: &extprocv3.ImmediateResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode_NotFound},
		Body:    []byte(translate.NotFoundMessage),
		Details: "atlas_unknown_adapter",
	},
}}

func adapterOf(stream grpc.ServerStream) string {
	md, _ := metadata.FromIncomingContext(stream.Context())
	if v := md.Get(translate.AdapterMetadataKey); len(v) > 0 {
		return v[0]
	}
	return ""
}
