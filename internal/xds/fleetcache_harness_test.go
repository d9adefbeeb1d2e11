package xds

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"
	"google.golang.org/protobuf/proto"
)

// The differential test's harness (fleetcache_diff_test.go).

// watcher is one side's stream, as the delta server keeps it.
type watcher struct {
	cache   cachev3.ConfigWatcher
	ch      chan cachev3.DeltaResponse
	sub     stream.Subscription
	started bool
	cancel  func()
}

func newWatcher(c cachev3.ConfigWatcher) *watcher {
	return &watcher{cache: c, ch: make(chan cachev3.DeltaResponse, 2*int(types.UnknownType))}
}

func (w *watcher) request(t testing.TB, req *cachev3.DeltaRequest) {
	t.Helper()
	req = proto.Clone(req).(*cachev3.DeltaRequest) // the cache may keep or change it
	if !w.started {
		w.sub = stream.NewDeltaSubscription(req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe(), req.GetInitialResourceVersions(), true)
		w.started = true
	} else {
		if w.cancel != nil {
			w.cancel()
		}
		w.sub.UpdateResourceSubscriptions(req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe())
	}
	var err error
	if w.cancel, err = w.cache.CreateDeltaWatch(req, w.sub, w.ch); err != nil {
		t.Fatal(err)
	}
}

func (w *watcher) close() {
	if w.cancel != nil {
		w.cancel()
	}
	if f, ok := w.cache.(*fleetCache); ok {
		f.forget(w.ch)
	}
}

// drain processes the responses sent so far and returns them, each as one
// line: system version, resources (name@version) and removals, sorted.
func (w *watcher) drain(t testing.TB) []string {
	t.Helper()
	var out []string
	for {
		select {
		case r := <-w.ch:
			w.sub.SetReturnedResources(r.GetNextVersionMap())
			d, err := r.GetDeltaDiscoveryResponse()
			if err != nil {
				t.Fatal(err)
			}
			var res []string
			for _, x := range d.GetResources() {
				if x.GetResource().GetTypeUrl() != resource.ClusterType {
					t.Fatalf("resource %s has type %s", x.GetName(), x.GetResource().GetTypeUrl())
				}
				res = append(res, x.GetName()+"@"+x.GetVersion()[:8])
			}
			slices.Sort(res)
			rm := slices.Sorted(slices.Values(d.GetRemovedResources()))
			out = append(out, fmt.Sprintf("v%s %s sent %v removed %v", d.GetSystemVersionInfo(), d.GetTypeUrl(), res, rm))
		default:
			return out
		}
	}
}

var diffNames = []string{"a", "b", "c", "d", "e", "f"}

func randomNames(r *rand.Rand, star bool) []string {
	var out []string
	for range 1 + r.IntN(3) {
		out = append(out, diffNames[r.IntN(len(diffNames))])
	}
	if star && r.IntN(6) == 0 {
		out = append(out, "*")
	}
	return out
}

// randomChange adds, changes (or puts the same again) and deletes some
// resources of current.
func randomChange(r *rand.Rand, current map[string]types.Resource) (map[string]types.Resource, []string) {
	changed, deleted := map[string]types.Resource{}, []string(nil)
	for _, name := range diffNames {
		_, exists := current[name]
		switch x := r.IntN(10); {
		case exists && x < 2:
			deleted = append(deleted, name)
			delete(current, name)
		case x < 3 || (!exists && x < 5):
			cl := &clusterv3.Cluster{Name: name, AltStatName: fmt.Sprint(r.IntN(3))}
			changed[name], current[name] = cl, cl
		}
	}
	return changed, deleted
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
