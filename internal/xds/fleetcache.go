package xds

import (
	"context"
	"fmt"
	"maps"
	"sync"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// fleetCache is the go-control-plane cache of one resource type.
// State-of-the-world watches (CreateWatch, Fetch) go to a LinearCache, as
// before. Delta watches are served here, at a cost proportional to what
// changed rather than to what a stream subscribes to: with 10k clusters and
// 10k secrets per Envoy, LinearCache compares every subscribed resource's
// version and registers the watch under every subscribed name on each ACK.
//
// Each Publish is one sequence number (the Publish version, also the
// responses' system_version_info, as with LinearCache). A change log
// records, per name, the Publish that last changed or deleted it. A stream's
// state (subState, fleetwatch.go) remembers the Publish up to which its
// subscription was reconciled; a later request only looks at the names it
// subscribes or unsubscribes and at the log entries after that Publish.
// Resources are marshalled and hashed once per change (the hash is the
// delta resource version, as LinearCache's, so it survives an Atlas
// restart) and the resulting discovery Resources are shared by all streams.
type fleetCache struct {
	typeURL string
	sotw    *cachev3.LinearCache
	// onWatch, if set, is told each delta request's response channel (the
	// Server uses it to forget a stream's state when the stream closes).
	onWatch func(*cachev3.DeltaRequest, chan cachev3.DeltaResponse)
	// testHookSnapshot, set by tests only, runs in CreateDeltaWatch right
	// after the snapshot is taken.
	testHookSnapshot func()

	// pubMu serialises update; changes and compactAt are only used under it.
	pubMu sync.Mutex
	// changes maps every name in the log to the Publish that last changed
	// (or deleted) it.
	changes map[string]uint64
	// The log is compacted when it reaches compactAt entries, then at twice
	// its compacted length (at least compactMin).
	compactAt, compactMin int

	// mu guards snap (replaced, never modified), streams and parked. No
	// per-stream work proportional to a subscription runs under it.
	mu      sync.Mutex
	snap    *snapshot
	streams map[chan cachev3.DeltaResponse]*subState
	// parked are the delta watches with nothing to send: one set per type,
	// checked against the changed names on each Publish.
	parked map[*deltaWatch]struct{}
}

var _ cachev3.Cache = (*fleetCache)(nil)

// entry is a resource as delta responses carry it.
type entry struct {
	version string                // hash of the deterministic encoding
	res     *discoveryv3.Resource // shared by every response: never modified
}

func newFleetCache(typeURL string, opts ...cachev3.LinearCacheOption) *fleetCache {
	return &fleetCache{
		typeURL:    typeURL,
		sotw:       cachev3.NewLinearCache(typeURL, opts...),
		changes:    map[string]uint64{},
		compactAt:  1024,
		compactMin: 1024,
		snap:       &snapshot{res: map[string]*entry{}},
		streams:    map[chan cachev3.DeltaResponse]*subState{},
		parked:     map[*deltaWatch]struct{}{},
	}
}

// CreateWatch serves state-of-the-world streams from the LinearCache.
func (c *fleetCache) CreateWatch(req *cachev3.Request, sub cachev3.Subscription, ch chan cachev3.Response) (func(), error) {
	return c.sotw.CreateWatch(req, sub, ch)
}

// Fetch is the LinearCache's (which does not implement it).
func (c *fleetCache) Fetch(ctx context.Context, req *cachev3.Request) (cachev3.Response, error) {
	return c.sotw.Fetch(ctx, req)
}

// marshalEntries marshals and hashes changed resources of a type once, for
// every delta stream (the hash is the resource's delta version).
func marshalEntries(typeURL string, changed map[string]types.Resource) (map[string]*entry, error) {
	entries := make(map[string]*entry, len(changed))
	for name, r := range changed {
		b, err := cachev3.MarshalResource(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e := &entry{version: cachev3.HashResource(b)}
		e.res = &discoveryv3.Resource{Name: name, Version: e.version, Resource: &anypb.Any{TypeUrl: typeURL, Value: b}}
		entries[name] = e
	}
	return entries, nil
}

// update makes one Publish's changes: seq is the Publish version, changed
// the resources that are new or different (entries the same, marshalled),
// deleted the names removed. Calls must come in increasing seq, one per
// Publish even when nothing changed (the version then advances, as
// LinearCache's does). The delta side is updated even if the LinearCache
// reports an error.
func (c *fleetCache) update(seq uint64, changed map[string]types.Resource, entries map[string]*entry, deleted []string) error {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	err := c.sotw.UpdateResources(changed, deleted)
	old := c.snap // only update replaces snap, and pubMu is held
	next := &snapshot{seq: seq, res: old.res, log: old.log}
	var names []string
	if len(entries)+len(deleted) > 0 {
		next.res = maps.Clone(old.res)
		names = make([]string, 0, len(entries)+len(deleted))
		for name, e := range entries {
			next.res[name] = e
			names = append(names, name)
		}
		for _, name := range deleted {
			delete(next.res, name)
			names = append(names, name)
		}
		for _, name := range names {
			next.log = append(next.log, logEntry{seq: seq, name: name})
			c.changes[name] = seq
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(next.log) >= c.compactAt {
		next.log = c.compact(next)
		c.compactAt = max(c.compactMin, 2*len(next.log))
	}
	c.snap = next
	for w := range c.parked {
		c.notify(w, names, next)
	}
	return err
}

// notify answers a parked watch if a name changed in Publish next concerns
// it; otherwise its stream is reconciled up to next. c.mu is held: the
// watch cannot be cancelled meanwhile, so its subscription (and the
// returned-versions map) stays still, as cachev3.Subscription documents.
func (c *fleetCache) notify(w *deltaWatch, names []string, next *snapshot) {
	var d changeSet
	for _, name := range names {
		if e, act := w.view.judge(name, next.res); act {
			if d == nil {
				d = changeSet{}
			}
			d[name] = e
		}
	}
	w.st.reconciled = next.seq
	if len(d) == 0 {
		return
	}
	delete(c.parked, w)
	w.st.watch = nil
	w.ch <- w.st.respond(w.req, d, next.seq)
}
