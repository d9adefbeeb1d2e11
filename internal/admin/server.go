// Package admin serves Atlas's admin gRPC API (proto/atlas/admin/v1):
// adapters, secrets, fleet status and config export, plus gRPC health and
// server reflection.
//
// Its contract with the rest of the gateway is Deps: the store for what the
// API manages, and functions that describe the configuration file and
// validate a candidate set of API adapters with the file's own rules. The
// package never reloads anything itself: a store write fires
// store.Changes, and the gateway reloads from there.
//
// Every RPC except health and reflection requires a bearer token or a
// verified client certificate (see ServerOptions and TLSConfig). No response
// and no log line ever carries a secret value or the token.
package admin

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// Deps is what the admin API needs from the gateway.
type Deps struct {
	// Store keeps API adapters and secrets. Required.
	Store store.Store
	// Fleet returns the status of the Envoys known to this replica.
	Fleet func() []xds.NodeStatus
	// Validate checks the whole configuration as it would be with these API
	// adapters (the gateway calls config.ParseWithAPI with the current
	// file); it returns every problem joined, each line
	// "api adapter NAME:LINE: …" or "FILE:LINE: …".
	Validate func(ctx context.Context, api []store.Adapter) error
	// FileAdapter reports whether an adapter comes from the configuration
	// file, and where ("atlas.yml:12").
	FileAdapter func(name string) (source string, ok bool)
	// FileAdapters lists the file's adapters, for List and Get.
	FileAdapters func() []FileAdapter
	// FileConfig returns the file's current raw bytes, for export.
	FileConfig func() []byte
	// Log receives one line per change and per rejected request.
	Log *slog.Logger
}

// FileAdapter is an adapter defined in the configuration file, as the API
// shows it: header values are templates with ${{ }} references unexpanded.
type FileAdapter struct {
	Name    string
	BaseURL string
	Headers []Header
	// CAPEM is the content of spec.tls.caFile (or caPem); nil means the
	// system trust store.
	CAPEM []byte
	// Source is where the adapter is defined, such as "atlas.yml:12".
	Source string
	// UpdatedAt is when the file that defines it was loaded.
	UpdatedAt time.Time
}

// Header is one injected header; Template is its value with references
// such as ${{ secret:NAME }} unexpanded.
type Header struct {
	Name, Template string
}

// Server implements the four admin services.
type Server struct {
	d   Deps
	now func() time.Time
	// mu serialises check-then-write RPCs within this replica (an apply
	// that references a secret against the deletion of that secret).
	mu sync.Mutex
}

// New returns a Server. Missing optional functions behave as an empty fleet
// and an empty configuration file; a missing Validate accepts everything.
func New(d Deps) *Server {
	if d.Fleet == nil {
		d.Fleet = func() []xds.NodeStatus { return nil }
	}
	if d.Validate == nil {
		d.Validate = func(context.Context, []store.Adapter) error { return nil }
	}
	if d.FileAdapter == nil {
		d.FileAdapter = func(string) (string, bool) { return "", false }
	}
	if d.FileAdapters == nil {
		d.FileAdapters = func() []FileAdapter { return nil }
	}
	if d.FileConfig == nil {
		d.FileConfig = func() []byte { return nil }
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{d: d, now: time.Now}
}

// Register adds the four admin services, gRPC health (SERVING) and server
// reflection to g. Create g with ServerOptions so that the admin services
// require authentication.
func (s *Server) Register(g *grpc.Server) {
	adminv1.RegisterAdapterServiceServer(g, &adapterService{s: s})
	adminv1.RegisterSecretServiceServer(g, &secretService{s: s})
	adminv1.RegisterFleetServiceServer(g, &fleetService{s: s})
	adminv1.RegisterConfigServiceServer(g, &configService{s: s})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, name := range []string{
		adminv1.AdapterService_ServiceDesc.ServiceName,
		adminv1.SecretService_ServiceDesc.ServiceName,
		adminv1.FleetService_ServiceDesc.ServiceName,
		adminv1.ConfigService_ServiceDesc.ServiceName,
	} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(g, hs)
	reflection.Register(g)
}

// logger is the request-scoped logger the interceptor put in ctx, or the
// server's own.
func (s *Server) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return s.d.Log
}

type loggerKey struct{}
