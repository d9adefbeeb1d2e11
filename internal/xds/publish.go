package xds

import (
	"context"
	"fmt"
	"strconv"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/atlas-gateway/atlas/internal/translate"
)

// Publish: from a translated configuration to the per-type caches.

// Publish makes res the configuration of every connected and future Envoy
// and returns the snapshot version. The resources belong to the server from
// then on: the caller must not change them (it may publish them again).
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
	// Marshal every changed resource before any cache changes, so a
	// failure leaves all of them as they were.
	changes := make([]typeChange, len(publishOrder))
	for i, t := range publishOrder {
		c := &changes[i]
		c.changed, c.deleted, c.next = diff(s.prev[t], byType[t])
		if c.entries, err = marshalEntries(t, c.changed); err != nil {
			return "", fmt.Errorf("marshalling %s for version %s: %w", t, version, err)
		}
	}
	// Every type's cache advances one version per Publish, changed or not,
	// so a type's version always equals the Publish that last changed it.
	var failed error
	for i, t := range publishOrder {
		c := &changes[i]
		if err := s.caches[t].update(s.version+1, c.changed, c.entries, c.deleted); err != nil && failed == nil {
			failed = fmt.Errorf("publishing %s for version %s: %w", t, version, err)
		}
		s.prev[t] = c.next
		if len(c.changed) > 0 || len(c.deleted) > 0 {
			s.names.record(t, s.version+1, c.entries, c.deleted)
			s.changedMu.Lock()
			s.changedAt[t] = s.version + 1
			s.changedMu.Unlock()
		}
	}
	s.version++
	if failed != nil {
		return "", failed
	}
	return version, nil
}

// typeChange is what one Publish changes in one type.
type typeChange struct {
	changed map[string]types.Resource
	deleted []string
	next    map[string]types.Resource
	entries map[string]*entry // changed, marshalled
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
		// The same object is the same resource (resources are never
		// changed once published; the make-before-break steps of
		// internal/rollout publish the same objects again): skip the
		// deep comparison, the largest cost of a Publish at 10k adapters.
		if old, ok := prev[name]; !ok || (old != r && !proto.Equal(old, r)) {
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
