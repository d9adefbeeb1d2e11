package xds

import (
	"fmt"

	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// Delta watches of fleetCache. What is sent is exactly what LinearCache
// would send for the same subscription (the differential test checks it):
// a resource the subscription covers that the stream does not hold at its
// version, and the removal of a name the stream holds that is deleted or no
// longer subscribed.
//
// go-control-plane's delta server (server/delta/v3/server.go) runs each
// stream on one goroutine: it cancels the type's watch, updates the
// Subscription with the request's (un)subscriptions, calls CreateDeltaWatch,
// and for each response stores GetNextVersionMap() as the Subscription's
// returned versions. Here that map is always the same one, subState.known,
// changed in place when a response is made: by CreateDeltaWatch on the
// stream's goroutine while no watch of the stream is parked, or by Publish
// (notify) under fleetCache.mu for a parked watch, which cancel waits for.
// The server only changes the map after cancelling the watch, so the map
// has one writer at a time and no response ever copies it. (Subscription's
// doc says a cache must not alter the map; that is what makes LinearCache
// clone it per response. On a stream's first request the map is the
// request's initial_resource_versions, which the server's own
// UpdateResourceSubscriptions already changes in place.) A response Publish
// makes between the server's draining of the channel and its cancel is in
// the map before the next watch is computed, so it is not sent twice. If
// the server ever handed over another map, sameMap sees it and the request
// is computed in full, as a first one.

// subState is one stream's subscription to the type.
type subState struct {
	known      map[string]string // the Subscription's returned versions
	reconciled uint64            // Publish up to which nothing is left to send
	wildcard   bool              // the subscription's wildcard state then
	watch      *deltaWatch       // the parked watch, if any
}

// view is a subscription as a watch sees it; it does not change until the
// watch is cancelled (cachev3.Subscription's contract).
type view struct {
	wildcard   bool
	subscribed map[string]struct{}
	known      map[string]string
}

// judge is LinearCache's rule for one name: send e (act, e != nil), send
// the name's removal (act, e == nil), or nothing.
func (v view) judge(name string, res map[string]*entry) (e *entry, act bool) {
	version, known := v.known[name]
	if !v.wildcard {
		if _, ok := v.subscribed[name]; !ok {
			return nil, known
		}
	}
	if e, ok := res[name]; ok {
		return e, !known || version != e.version
	}
	return nil, known
}

// changeSet is what a response will carry: name → entry, nil for a removal.
type changeSet map[string]*entry

// put (re)judges a name.
func (d changeSet) put(v view, name string, res map[string]*entry) {
	if e, act := v.judge(name, res); act {
		d[name] = e
	} else {
		delete(d, name)
	}
}

// all judges every name the subscription or the stream has.
func (d changeSet) all(v view, res map[string]*entry) {
	if v.wildcard {
		for name := range res {
			d.put(v, name, res)
		}
	} else {
		for name := range v.subscribed {
			d.put(v, name, res)
		}
	}
	for name := range v.known {
		d.put(v, name, res)
	}
}

type deltaWatch struct {
	st   *subState
	req  *cachev3.DeltaRequest
	view view
	ch   chan cachev3.DeltaResponse
}

// CreateDeltaWatch answers a delta request now if something is to be sent
// (always for a wildcard request without a response nonce, as LinearCache),
// and otherwise parks the watch until a Publish concerns it. A stream's
// first request of the type looks at everything; later ones only at the
// names they (un)subscribe and at what changed since the stream was last
// reconciled.
func (c *fleetCache) CreateDeltaWatch(req *cachev3.DeltaRequest, sub cachev3.Subscription, ch chan cachev3.DeltaResponse) (func(), error) {
	if req.GetTypeUrl() != c.typeURL {
		return nil, fmt.Errorf("request type %s does not match cache type %s", req.GetTypeUrl(), c.typeURL)
	}
	if c.onWatch != nil {
		c.onWatch(req, ch)
	}
	v := view{wildcard: sub.IsWildcard(), subscribed: sub.SubscribedResources(), known: sub.ReturnedResources()}
	c.mu.Lock()
	st := c.streams[ch]
	full := st == nil || !sameMap(st.known, v.known) || st.wildcard != v.wildcard
	if st == nil {
		st = &subState{}
		c.streams[ch] = st
	}
	if st.watch != nil { // the server cancels it first; be sure
		delete(c.parked, st.watch)
		st.watch = nil
	}
	st.known = v.known
	snap, from := c.snap, st.reconciled
	c.mu.Unlock()
	if c.testHookSnapshot != nil {
		c.testHookSnapshot() // a test publishes here, to be caught up with
	}

	d := changeSet{}
	if full {
		d.all(v, snap.res)
	} else {
		for _, name := range req.GetResourceNamesSubscribe() {
			d.put(v, name, snap.res)
		}
		for _, name := range req.GetResourceNamesUnsubscribe() {
			d.put(v, name, snap.res)
		}
		for _, le := range snap.since(from) {
			d.put(v, le.name, snap.res)
		}
	}
	for { // catch up with Publishes made meanwhile; a few names each
		c.mu.Lock()
		if c.snap == snap {
			break
		}
		newer := c.snap.since(snap.seq)
		snap = c.snap
		c.mu.Unlock()
		for _, le := range newer {
			d.put(v, le.name, snap.res)
		}
	}
	st.reconciled, st.wildcard = snap.seq, v.wildcard
	if len(d) == 0 && !(v.wildcard && req.GetResponseNonce() == "") {
		w := &deltaWatch{st: st, req: req, view: v, ch: ch}
		c.parked[w] = struct{}{}
		st.watch = w
		c.mu.Unlock()
		return func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(c.parked, w)
			if st.watch == w {
				st.watch = nil
			}
		}, nil
	}
	c.mu.Unlock()
	// No watch of this stream is parked: known is this goroutine's alone.
	ch <- st.respond(req, d, snap.seq)
	return nil, nil
}

// forget drops a closed stream's state.
func (c *fleetCache) forget(ch chan cachev3.DeltaResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[ch]; st != nil {
		if st.watch != nil {
			delete(c.parked, st.watch)
		}
		delete(c.streams, ch)
	}
}
