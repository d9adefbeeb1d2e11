package xds

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// The differential test: random Publishes and delta client actions go to
// go-control-plane's LinearCache and to fleetCache, each driven as
// server/delta/v3/server.go drives a cache (one Subscription per stream and
// type, cancel then UpdateResourceSubscriptions then CreateDeltaWatch, and
// SetReturnedResources(GetNextVersionMap()) for each response), and every
// response of one must be the other's.

func TestFleetCacheDeltaMatchesLinearCache(t *testing.T) {
	var st diffStats
	for seed := range uint64(400) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { diffRun(t, seed, &st) })
	}
	t.Logf("%+v", st)
	// The random runs must have covered what matters.
	if st.onPublish < 200 || st.removedOnPublish < 50 || st.removedOnRequest < 50 || st.parkedFirst < 20 || st.emptyWildcard < 20 || st.reconnectKept < 50 || st.during < 500 {
		t.Fatalf("too little covered: %+v", st)
	}
}

// diffStats counts what the random runs exercised.
type diffStats struct {
	onPublish, removedOnPublish, onRequest, removedOnRequest int
	parkedFirst, emptyWildcard, reconnectKept, during        int
}

func diffRun(t *testing.T, seed uint64, st *diffStats) {
	r := rand.New(rand.NewPCG(seed, 7))
	linear := cachev3.NewLinearCache(resource.ClusterType, cachev3.WithLogger(cacheLogger{discardLog()}))
	fleet := newFleetCache(resource.ClusterType, cachev3.WithLogger(cacheLogger{discardLog()}))
	if seed%2 == 1 { // compact the change log all the time
		fleet.compactAt, fleet.compactMin = 1, 1
	}
	current := map[string]types.Resource{}
	var seq uint64
	type client struct{ l, f *watcher }
	clients := make([]*client, 3)
	var trace []string
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s\ntrace:\n%s", seed, fmt.Sprintf(format, a...), strings.Join(trace, "\n"))
	}
	compare := func(publish, first bool, initial int) {
		t.Helper()
		for i, c := range clients {
			if c == nil {
				continue
			}
			lo, fo := c.l.drain(t), c.f.drain(t)
			for _, line := range lo {
				removed := !strings.HasSuffix(line, "removed []")
				switch {
				case publish:
					st.onPublish++
					st.removedOnPublish += b2i(removed)
				default:
					st.onRequest++
					st.removedOnRequest += b2i(removed)
					st.emptyWildcard += b2i(strings.Contains(line, "sent [] removed []"))
				}
			}
			if first && len(lo) == 0 && !publish {
				st.parkedFirst++
			}
			if initial > 0 && len(lo) == 1 && strings.Count(lo[0], "@") < initial {
				st.reconnectKept++
			}
			if len(lo) > 0 && r.IntN(2) == 0 { // Envoy ACKs each response
				ack := &cachev3.DeltaRequest{TypeUrl: resource.ClusterType, ResponseNonce: "ack"}
				trace = append(trace, fmt.Sprintf("client %d: ACK", i))
				c.l.request(t, ack)
				c.f.request(t, ack)
			}
			trace = append(trace, fmt.Sprintf("  client %d linear %q", i, lo))
			if !slices.Equal(lo, fo) {
				fail("client %d: LinearCache sent %q, fleetCache sent %q", i, lo, fo)
			}
			if !maps.Equal(c.l.sub.ReturnedResources(), c.f.sub.ReturnedResources()) {
				fail("client %d: returned versions differ: linear %v, fleet %v", i, c.l.sub.ReturnedResources(), c.f.sub.ReturnedResources())
			}
		}
	}
	request := func(i int, req *cachev3.DeltaRequest) {
		t.Helper()
		trace = append(trace, fmt.Sprintf("client %d: sub %q unsub %q nonce %q initial %v", i, req.ResourceNamesSubscribe, req.ResourceNamesUnsubscribe, req.ResponseNonce, req.InitialResourceVersions))
		clients[i].l.request(t, req)
		clients[i].f.request(t, req)
	}
	for range 80 {
		publish, first, initialN := false, false, 0
		i := r.IntN(len(clients))
		c := clients[i]
		req := &cachev3.DeltaRequest{TypeUrl: resource.ClusterType}
		switch op := r.IntN(10); {
		case op < 3: // Publish; or, with a request, while fleetCache computes it
			changed, deleted := randomChange(r, current)
			seq++
			publish = true
			trace = append(trace, fmt.Sprintf("publish %d: put %v delete %v", seq, slices.Sorted(maps.Keys(changed)), deleted))
			entries, err := marshalEntries(resource.ClusterType, changed)
			if err != nil {
				t.Fatal(err)
			}
			fleetUpdate := func() {
				if err := fleet.update(seq, changed, entries, deleted); err != nil {
					t.Error(err)
				}
			}
			during := c != nil && op == 2
			if during { // LinearCache: the watch is cancelled, then the Publish, then the request
				if c.l.cancel != nil {
					c.l.cancel()
					c.l.cancel = nil
				}
				fleet.testHookSnapshot = func() { fleet.testHookSnapshot = nil; fleetUpdate() }
				st.during++
			}
			if err := linear.UpdateResources(changed, deleted); err != nil {
				t.Fatal(err)
			}
			if !during {
				fleetUpdate()
				break
			}
			req.ResponseNonce = "1"
			req.ResourceNamesSubscribe = randomNames(r, false)
			request(i, req)
		case c == nil || op == 9: // (re)connect, maybe with what the client held
			var initial map[string]string
			if c != nil {
				initial = maps.Clone(c.l.sub.ReturnedResources())
				c.l.close()
				c.f.close()
				for name := range initial {
					if r.IntN(4) == 0 {
						initial[name] = "stale"
					}
				}
			}
			if r.IntN(4) == 0 {
				initial = map[string]string{"e": "stale", "f": "x"}
			}
			c = &client{l: newWatcher(linear), f: newWatcher(fleet)}
			clients[i] = c
			req.InitialResourceVersions = initial
			first, initialN = true, len(initial)
			switch r.IntN(3) {
			case 0: // legacy wildcard
			case 1:
				req.ResourceNamesSubscribe = []string{"*"}
			default:
				req.ResourceNamesSubscribe = randomNames(r, true)
			}
			request(i, req)
		case op < 5: // ACK (or NACK: the cache sees the same)
			req.ResponseNonce = fmt.Sprint(1 + r.IntN(9))
			request(i, req)
		default: // subscription change, with or without a nonce
			if r.IntN(2) == 0 {
				req.ResponseNonce = "1"
			}
			if op != 7 {
				req.ResourceNamesSubscribe = randomNames(r, true)
			}
			if op != 6 {
				req.ResourceNamesUnsubscribe = randomNames(r, true)
			}
			request(i, req)
		}
		compare(publish, first, initialN)
	}
}
