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
// go-control-plane LinearCache per resource type behind a MuxCache instead
// of a snapshot per node: a resource is marshalled once per version and
// shared by every stream (a per-node snapshot cache marshals the whole
// snapshot again for each Envoy, 200× the work for 200 Envoys). Publish
// still builds a snapshot and checks it with Consistent() before anything is
// sent, then updates only the resources that changed, clusters and secrets
// before routes and listeners. Every ACK and NACK is recorded per node, and
// each NACK is logged with Envoy's error detail and counted; WaitAcked
// (wait.go) waits for the fleet to confirm a Publish.
package xds

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretgrpc "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/atlas-gateway/atlas/internal/translate"
)

// Server is an ADS server for a fleet of Envoys that all receive the same
// configuration.
type Server struct {
	log    *slog.Logger
	caches map[resource.Type]*cachev3.LinearCache
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
	s := &Server{log: log, fleet: newFleet(), names: newNameIndex(), obs: nopObserver{}, caches: map[resource.Type]*cachev3.LinearCache{}, prev: map[resource.Type]map[string]types.Resource{}, changedAt: map[resource.Type]uint64{}}
	for _, o := range opts {
		o(s)
	}
	mux := &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return r.GetTypeUrl() },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return r.GetTypeUrl() },
		Caches:        map[string]cachev3.Cache{},
	}
	for _, t := range publishOrder {
		c := cachev3.NewLinearCache(t, cachev3.WithLogger(cacheLogger{log}))
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

// Publish makes res the configuration of every connected and future Envoy
// and returns the snapshot version.
func (s *Server) Publish(ctx context.Context, res *translate.Resources) (string, error) {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	version := strconv.FormatUint(s.version+1, 10)
	byType := map[resource.Type][]types.Resource{
		resource.ListenerType: res.Listeners,
		resource.RouteType:    res.Routes,
		resource.ClusterType:  res.Clusters,
		resource.SecretType:   res.Secrets,
	}
	snap, err := cachev3.NewSnapshot(version, byType)
	if err != nil {
		return "", fmt.Errorf("building xDS snapshot %s: %w", version, err)
	}
	if err := snap.Consistent(); err != nil {
		return "", fmt.Errorf("xDS snapshot %s is inconsistent (a listener or route names a resource that is not in the snapshot); this is an Atlas bug: %w", version, err)
	}
	// Every type's cache advances one version per Publish, changed or not,
	// so a type's version always equals the Publish that last changed it.
	for _, t := range publishOrder {
		changed, deleted, next := diff(s.prev[t], byType[t])
		if err := s.caches[t].UpdateResources(changed, deleted); err != nil {
			return "", fmt.Errorf("publishing %s for version %s: %w", t, version, err)
		}
		s.prev[t] = next
		if len(changed) > 0 || len(deleted) > 0 {
			s.names.record(t, s.version+1, changed, deleted)
			s.changedMu.Lock()
			s.changedAt[t] = s.version + 1
			s.changedMu.Unlock()
		}
	}
	s.version++
	return version, nil
}

// publishOrder makes before it breaks: what listeners and routes refer to
// (clusters, secrets) goes out first.
var publishOrder = []resource.Type{resource.ClusterType, resource.EndpointType, resource.SecretType, resource.RouteType, resource.ListenerType}

// diff returns the resources of next that are new or different from prev,
// the names prev had and next lacks, and next by name.
func diff(prev map[string]types.Resource, next []types.Resource) (map[string]types.Resource, []string, map[string]types.Resource) {
	byName := make(map[string]types.Resource, len(next))
	changed := map[string]types.Resource{}
	for _, r := range next {
		name := cachev3.GetResourceName(r)
		byName[name] = r
		if old, ok := prev[name]; !ok || !proto.Equal(old, r) {
			changed[name] = r
		}
	}
	var deleted []string
	for name := range prev {
		if _, ok := byName[name]; !ok {
			deleted = append(deleted, name)
		}
	}
	return changed, deleted, byName
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
