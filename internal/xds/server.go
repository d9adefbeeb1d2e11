// Package xds serves Envoy configuration over ADS with go-control-plane.
//
// Envoy's bootstrap (envoy/) asks for delta (incremental) ADS: after a
// change only the resources that changed, and the names removed, are sent,
// instead of every cluster and secret again. The server still serves
// state-of-the-world ADS and SDS too, so Envoys started with an older
// bootstrap (api_type: GRPC) keep working; both kinds of stream are tracked
// alike (callbacks.go, delta.go).
//
// Every Envoy of the fleet gets the same configuration, so Server keeps one
// cache per resource type behind a MuxCache instead of a snapshot per node:
// a resource is marshalled once per version and shared by every stream (a
// per-node snapshot cache marshals the whole snapshot again for each Envoy,
// 200× the work for 200 Envoys). Each type's fleetCache (fleetcache.go)
// serves state-of-the-world streams from a go-control-plane LinearCache and
// delta streams itself, at a cost per request proportional to what changed
// rather than to the 10k names a stream holds (fleetwatch.go). Publish
// still builds a snapshot and checks it with Consistent() before anything
// is sent, then updates only the resources that changed, clusters and
// secrets before routes and listeners. Every ACK and NACK is recorded per
// node, and each NACK is logged with Envoy's error detail and counted;
// WaitAcked (wait.go) waits for the fleet to confirm a Publish.
package xds

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretgrpc "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// Server is an ADS server for a fleet of Envoys that all receive the same
// configuration.
type Server struct {
	log    *slog.Logger
	caches map[resource.Type]*fleetCache
	srv    serverv3.Server

	// publishMu serialises Publish; prev (the resources last published, by
	// type and name) and version are only touched under it.
	publishMu sync.Mutex
	version   uint64
	prev      map[resource.Type]map[string]types.Resource
	// changedAt is the version at which each type last changed.
	changedMu sync.Mutex
	changedAt map[resource.Type]uint64
	names     *nameIndex
	fleet     *fleet
	nackSeen  atomic.Int64
	obs       Observer
}

// Observer is told what the server sends and what Envoys answer
// (internal/metrics implements it). Calls come from xDS stream goroutines.
type Observer interface {
	XDSPush(node, typeURL string)
	XDSAck(node, typeURL string)
	XDSNack(node, typeURL string)
	// connected is the number of Envoys connected after the change.
	EnvoyConnected(node string, connected int)
	EnvoyDisconnected(node string, connected int)
}

type nopObserver struct{}

func (nopObserver) XDSPush(string, string)        {}
func (nopObserver) XDSAck(string, string)         {}
func (nopObserver) XDSNack(string, string)        {}
func (nopObserver) EnvoyConnected(string, int)    {}
func (nopObserver) EnvoyDisconnected(string, int) {}

// Option configures a Server.
type Option func(*Server)

// WithObserver reports xDS traffic to o.
func WithObserver(o Observer) Option { return func(s *Server) { s.obs = o } }

// New returns a Server; ctx bounds the lifetime of its open streams.
func New(ctx context.Context, log *slog.Logger, opts ...Option) *Server {
	s := &Server{log: log, fleet: newFleet(), names: newNameIndex(), obs: nopObserver{}, caches: map[resource.Type]*fleetCache{}, prev: map[resource.Type]map[string]types.Resource{}, changedAt: map[resource.Type]uint64{}}
	for _, o := range opts {
		o(s)
	}
	mux := &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return r.GetTypeUrl() },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return r.GetTypeUrl() },
		Caches:        map[string]cachev3.Cache{},
	}
	for _, t := range publishOrder {
		c := newFleetCache(t, cachev3.WithLogger(cacheLogger{log}))
		c.onWatch = s.fleet.watchOpened
		s.caches[t] = c
		mux.Caches[t] = c
	}
	s.srv = serverv3.NewServer(ctx, mux, s.callbacks())
	return s
}

// Register adds the ADS (and SDS, for sidecars that ask for it directly)
// services to g.
func (s *Server) Register(g *grpc.Server) {
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, s.srv)
	secretgrpc.RegisterSecretDiscoveryServiceServer(g, s.srv)
}

// ChangedAt is the version at which a type last changed (0: never). Only
// changed types are sent, so an Envoy holds a type at this version, not at
// the latest Publish's.
func (s *Server) ChangedAt(typeURL string) uint64 {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changedAt[typeURL]
}

// NACKs is the number of configuration rejections received since start.
func (s *Server) NACKs() int64 { return s.nackSeen.Load() }

// Fleet returns the state of every Envoy that has connected, sorted by node id.
func (s *Server) Fleet() []NodeStatus { return s.fleet.snapshot() }
