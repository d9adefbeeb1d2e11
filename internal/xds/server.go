// Package xds serves Envoy configuration over ADS with go-control-plane.
//
// Server keeps one snapshot cache keyed by node id. Publish builds a snapshot
// from translated resources, checks it with Consistent() and hands it to every
// node seen so far; a node that connects later gets the latest snapshot on its
// first request. Every ACK and NACK is recorded per node, and each NACK is
// logged with Envoy's error detail and counted.
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

	"github.com/atlas-gateway/atlas/internal/translate"
)

// Server is an ADS server for a fleet of Envoys that all receive the same
// configuration.
type Server struct {
	log   *slog.Logger
	cache cachev3.SnapshotCache
	srv   serverv3.Server

	// publishMu serialises Publish; mu guards version, current and served
	// and is never held while the cache sends, so streams keep ACKing
	// while a large snapshot goes out.
	publishMu sync.Mutex
	mu        sync.RWMutex
	version   uint64
	current   *cachev3.Snapshot
	served    map[string]bool // node ids given a snapshot
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
	s := &Server{log: log, fleet: newFleet(), served: map[string]bool{}, obs: nopObserver{}}
	for _, o := range opts {
		o(s)
	}
	s.cache = cachev3.NewSnapshotCache(true, cachev3.IDHash{}, cacheLogger{log})
	s.srv = serverv3.NewServer(ctx, s.cache, s.callbacks())
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
	s.mu.RLock()
	version := strconv.FormatUint(s.version+1, 10)
	s.mu.RUnlock()
	snap, err := cachev3.NewSnapshot(version, map[resource.Type][]types.Resource{
		resource.ListenerType: res.Listeners,
		resource.RouteType:    res.Routes,
		resource.ClusterType:  res.Clusters,
		resource.SecretType:   res.Secrets,
	})
	if err != nil {
		return "", fmt.Errorf("building xDS snapshot %s: %w", version, err)
	}
	if err := snap.Consistent(); err != nil {
		return "", fmt.Errorf("xDS snapshot %s is inconsistent (a listener or route names a resource that is not in the snapshot); this is an Atlas bug: %w", version, err)
	}
	s.mu.Lock()
	s.version++
	s.current = snap
	nodes := make([]string, 0, len(s.served))
	for node := range s.served {
		nodes = append(nodes, node)
	}
	s.mu.Unlock()
	for _, node := range nodes {
		if err := s.cache.SetSnapshot(ctx, node, snap); err != nil {
			return "", fmt.Errorf("publishing xDS snapshot %s to node %q: %w", version, node, err)
		}
	}
	return version, nil
}

// NACKs is the number of configuration rejections received since start.
func (s *Server) NACKs() int64 { return s.nackSeen.Load() }

// Fleet returns the state of every Envoy that has connected, sorted by node id.
func (s *Server) Fleet() []NodeStatus { return s.fleet.snapshot() }

// ensureNode gives a node the current snapshot the first time it is seen.
// It runs on every request, so the common case takes only a read lock.
func (s *Server) ensureNode(ctx context.Context, node string) {
	s.mu.RLock()
	known := s.served[node]
	s.mu.RUnlock()
	if known {
		return
	}
	s.mu.Lock()
	if s.served[node] {
		s.mu.Unlock()
		return
	}
	s.served[node] = true // Publish now includes it, even before the first snapshot
	cur := s.current
	s.mu.Unlock()
	// A Publish may have swapped the snapshot meanwhile: set until the one
	// given is the latest, so the node never ends on an old version.
	for cur != nil {
		if err := s.cache.SetSnapshot(ctx, node, cur); err != nil {
			s.log.Error("giving a new Envoy the current configuration failed", "node", node, "error", err)
			return
		}
		s.mu.RLock()
		latest := s.current
		s.mu.RUnlock()
		if latest == cur {
			return
		}
		cur = latest
	}
}
