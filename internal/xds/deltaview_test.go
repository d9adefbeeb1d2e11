package xds

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// Random (un)subscriptions, wildcard switches and at changes: each view
// must be what a view made from scratch would be, and stay so afterwards
// (Fleet snapshots keep old views).
func TestDeltaViewMatchesFullRebuild(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	name := func() string { return fmt.Sprint("s", r.IntN(400)) }
	var first []string
	for range 300 {
		first = append(first, name())
	}
	at := map[string]uint64{}
	for _, n := range first[:50] {
		at[n] = uint64(1 + r.IntN(9))
	}
	req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: "s", ResourceNamesSubscribe: first}
	d := &deltaStream{types: map[string]*deltaType{}}
	ty := d.typ("s", req, at)
	ty.subscribe(req, true)
	type kept struct {
		v    *deltaView
		want map[string]uint64
		wild bool
	}
	var views []kept
	for i := range 2000 {
		switch op := r.IntN(20); {
		case op == 0: // wildcard on or off
			star := &discoveryv3.DeltaDiscoveryRequest{}
			if ty.sub.IsWildcard() {
				star.ResourceNamesUnsubscribe = []string{"*"}
			} else {
				star.ResourceNamesSubscribe = []string{"*"}
			}
			ty.subscribe(star, false)
		case op < 3: // an ACK drops at versions
			ty.forget([]string{name(), name()})
		default:
			change := &discoveryv3.DeltaDiscoveryRequest{}
			for range r.IntN(3) {
				change.ResourceNamesSubscribe = append(change.ResourceNamesSubscribe, name())
			}
			for range r.IntN(3) {
				change.ResourceNamesUnsubscribe = append(change.ResourceNamesUnsubscribe, name())
			}
			ty.subscribe(change, false)
		}
		v := ty.view()
		want := map[string]uint64{}
		if !ty.sub.IsWildcard() {
			for n := range ty.sub.SubscribedResources() {
				want[n] = ty.at[n]
			}
		}
		if v.wildcard != ty.sub.IsWildcard() || !maps.Equal(viewMap(v), want) {
			t.Fatalf("step %d: view (wildcard %t) differs from a full rebuild (wildcard %t): %v", i, v.wildcard, ty.sub.IsWildcard(), mapDiff(viewMap(v), want))
		}
		for n := range want {
			if got, ok := v.lookup(n); !ok || got != want[n] {
				t.Fatalf("step %d: lookup(%s) = %d, %t; want %d", i, n, got, ok, want[n])
			}
		}
		views = append(views, kept{v, want, v.wildcard})
	}
	for i, k := range views {
		if k.v.wildcard != k.wild || !maps.Equal(viewMap(k.v), k.want) {
			t.Fatalf("view %d changed after it was made", i)
		}
	}
}

func TestUpdateSortedMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pick := func(n int) []string {
		var out []string
		for range n {
			out = append(out, fmt.Sprint("n", r.IntN(60)))
		}
		return out
	}
	for range 3000 {
		sorted := slices.Compact(slices.Sorted(slices.Values(pick(r.IntN(40)))))
		orig := slices.Clone(sorted)
		add, drop := pick(r.IntN(5)), pick(r.IntN(5))
		set := map[string]bool{}
		for _, n := range sorted {
			set[n] = true
		}
		for _, n := range drop {
			delete(set, n)
		}
		for _, n := range add {
			set[n] = true
		}
		want := slices.Sorted(maps.Keys(set))
		if got := updateSorted(sorted, add, drop); !slices.Equal(got, want) {
			t.Fatalf("updateSorted(%q, add %q, drop %q) = %q, want %q", sorted, add, drop, got, want)
		}
		if !slices.Equal(sorted, orig) {
			t.Fatal("updateSorted modified its input")
		}
	}
}

// mapDiff lists the names whose versions differ, as got/want.
func mapDiff(got, want map[string]uint64) []string {
	var out []string
	for n, g := range got {
		if w, ok := want[n]; !ok || w != g {
			out = append(out, fmt.Sprintf("%s: %d/%v", n, g, ok))
		}
	}
	for n, w := range want {
		if _, ok := got[n]; !ok {
			out = append(out, fmt.Sprintf("%s: missing/%d", n, w))
		}
	}
	return out
}
