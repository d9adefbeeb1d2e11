package xds

import (
	"maps"
	"slices"
	"strconv"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"
)

// maxPending bounds the unanswered responses kept per stream and type.
// go-control-plane sends a type again only after a new request of that type
// (an ACK, a NACK or a subscription change), so Envoy, which answers every
// delta response, leaves one or two unanswered at a time.
const maxPending = 32

// deltaStream is the server's view of one delta xDS stream.
type deltaStream struct {
	defaultType string // the type of a non-ADS stream ("" for ADS)
	types       map[string]*deltaType
	// ch is the stream's response channel, once a cache has seen it; req
	// is the request waiting in fleet.unbound until then.
	ch  chan cachev3.DeltaResponse
	req *discoveryv3.DeltaDiscoveryRequest
}

// deltaType is one type's state on a delta stream.
type deltaType struct {
	// sub mirrors the server's subscription with go-control-plane's own
	// type, so wildcard and legacy-wildcard rules are the server's.
	sub stream.Subscription
	// held is every name Envoy holds, sorted, and never modified in place
	// (TypeStatus.AckedNames shares it). It is the only per-name state kept
	// for wildcard types: with 10k clusters, a slice, not a map.
	held []string
	// at maps a held name to the Publish version at which Envoy is known to
	// hold its current resource, for names a reconnecting Envoy listed in
	// initial_resource_versions at the published version; a later ACK of
	// the name removes it (the type's AckedVersion then covers it).
	at      map[string]uint64
	pending []pendingResponse // sent, not answered yet, by ascending nonce
	// viewed is view()'s last result; stale names the subscription or at
	// changed for since (deltaview.go).
	viewed *deltaView
	stale  map[string]struct{}
}

// pendingResponse is a delta response Envoy has not answered yet.
type pendingResponse struct {
	nonce          int64
	version        string // SystemVersionInfo: the cache version it was computed at
	names, removed []string
}

// typ returns the state of a type, creating it on the first request.
func (d *deltaStream) typ(typeURL string, req *discoveryv3.DeltaDiscoveryRequest, current map[string]uint64) *deltaType {
	if t := d.types[typeURL]; t != nil {
		return t
	}
	// Legacy wildcard stays on, as in the server (no DeactivateLegacyWildcard).
	t := &deltaType{
		sub:  stream.NewDeltaSubscription(req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe(), nil, true),
		held: slices.Sorted(maps.Keys(req.GetInitialResourceVersions())),
		at:   current,
	}
	d.types[typeURL] = t
	return t
}

// sent records a response.
func (t *deltaType) sent(resp *discoveryv3.DeltaDiscoveryResponse) {
	p := pendingResponse{nonce: nonceNumber(resp.GetNonce()), version: resp.GetSystemVersionInfo(), removed: resp.GetRemovedResources()}
	p.names = make([]string, len(resp.GetResources()))
	for i, r := range resp.GetResources() {
		p.names[i] = r.GetName()
	}
	if len(t.pending) >= maxPending {
		t.pending = slices.Delete(t.pending, 0, 1)
	}
	t.pending = append(t.pending, p)
}

// answer finds the response a request's nonce answers and forgets it with
// every older one of the type (Envoy answers in order; an older response it
// did not answer is not guessed at).
func (t *deltaType) answer(nonce string) (pendingResponse, bool) {
	n := nonceNumber(nonce)
	var p pendingResponse
	found := false
	keep := t.pending[:0]
	for _, q := range t.pending {
		switch {
		case q.nonce == n:
			p, found = q, true
		case q.nonce > n:
			keep = append(keep, q)
		}
	}
	clear(t.pending[len(keep):])
	t.pending = keep
	return p, found
}

// apply makes an ACKed response's resources held and its removals not.
// held is copied only if that changes it (a changed resource Envoy already
// holds does not).
func (t *deltaType) apply(p pendingResponse) {
	t.forget(p.names)
	t.forget(p.removed)
	for _, name := range p.names {
		if _, ok := slices.BinarySearch(t.held, name); !ok {
			t.held = updateSorted(t.held, p.names, p.removed)
			return
		}
	}
	for _, name := range p.removed {
		if _, ok := slices.BinarySearch(t.held, name); ok {
			t.held = updateSorted(t.held, p.names, p.removed)
			return
		}
	}
}

// forget drops names from at.
func (t *deltaType) forget(names []string) {
	if len(t.at) == 0 {
		return
	}
	for _, name := range names {
		if _, ok := t.at[name]; ok {
			delete(t.at, name)
			t.changed(name)
		}
	}
}

// subscribe applies a request's subscription changes; an unsubscribed name
// is no longer held.
func (t *deltaType) subscribe(req *discoveryv3.DeltaDiscoveryRequest, first bool) {
	for _, name := range req.GetResourceNamesSubscribe() {
		t.changed(name)
	}
	for _, name := range req.GetResourceNamesUnsubscribe() {
		t.changed(name)
	}
	if !first { // the first request's changes made the subscription
		t.sub.UpdateResourceSubscriptions(req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe())
	}
	t.forget(req.GetResourceNamesUnsubscribe())
	var drop []string
	for _, name := range req.GetResourceNamesUnsubscribe() {
		if _, ok := slices.BinarySearch(t.held, name); ok {
			drop = append(drop, name)
		}
	}
	if len(drop) > 0 {
		t.held = updateSorted(t.held, nil, drop)
	}
}

// nonceNumber parses a go-control-plane delta nonce (a per-stream counter);
// anything else is -1, which no response has.
func nonceNumber(nonce string) int64 {
	n, err := strconv.ParseInt(nonce, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
