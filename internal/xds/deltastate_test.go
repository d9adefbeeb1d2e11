package xds

import (
	"slices"
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// An ACK costs the fleet tracking no copy of what the Envoy holds: the
// WaitAcked view and the held names are only made again when they change.
func TestDeltaTypeACKReusesViewAndHeldNames(t *testing.T) {
	d := &deltaStream{types: map[string]*deltaType{}}
	first := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: "s", ResourceNamesSubscribe: []string{"a", "b"},
		InitialResourceVersions: map[string]string{"a": "h"}}
	ty := d.typ("s", first, map[string]uint64{"a": 3})
	ty.subscribe(first, true)
	v1 := ty.view()
	if at, _ := v1.lookup("a"); v1.wildcard || len(viewMap(v1)) != 2 || at != 3 {
		t.Fatalf("view = %+v", v1)
	}
	if ty.view() != v1 {
		t.Fatal("view made again with nothing changed")
	}

	ty.sent(&discoveryv3.DeltaDiscoveryResponse{Nonce: "1", SystemVersionInfo: "4", Resources: []*discoveryv3.Resource{{Name: "b"}}})
	p, ok := ty.answer("1")
	if !ok {
		t.Fatal("response 1 not pending")
	}
	ty.apply(p)
	if !slices.Equal(ty.held, []string{"a", "b"}) || ty.view() != v1 {
		t.Fatalf("after the ACK of b: held %q, view made again: %t", ty.held, ty.view() != v1)
	}
	held := ty.held

	// The ACK of a changed resource Envoy already holds changes nothing.
	ty.sent(&discoveryv3.DeltaDiscoveryResponse{Nonce: "2", SystemVersionInfo: "5", Resources: []*discoveryv3.Resource{{Name: "b"}}})
	p, _ = ty.answer("2")
	ty.apply(p)
	if &ty.held[0] != &held[0] || ty.view() != v1 {
		t.Fatal("the ACK of an already held name copied the held names or the view")
	}

	// The ACK of a held name known from initial_resource_versions drops it
	// from at: the view changes.
	ty.sent(&discoveryv3.DeltaDiscoveryResponse{Nonce: "3", SystemVersionInfo: "6", Resources: []*discoveryv3.Resource{{Name: "a"}}})
	p, _ = ty.answer("3")
	ty.apply(p)
	v2 := ty.view()
	if v2 == v1 || viewMap(v2)["a"] != 0 || viewMap(v1)["a"] != 3 {
		t.Fatalf("after the ACK of a: view %+v (old %+v)", v2, v1)
	}

	// A subscription change makes a new view; the old one is unchanged
	// (Fleet snapshots share it).
	unsub := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: "s", ResourceNamesUnsubscribe: []string{"b"}, ResourceNamesSubscribe: []string{"c"}}
	ty.subscribe(unsub, false)
	v3 := ty.view()
	if _, ok := v3.lookup("b"); ok || len(viewMap(v3)) != 2 || len(viewMap(v2)) != 2 || !slices.Equal(ty.held, []string{"a"}) {
		t.Fatalf("after unsubscribing b, subscribing c: view %+v, held %q", v3, ty.held)
	}
	if !slices.Equal(held, []string{"a", "b"}) {
		t.Fatalf("the old held names were modified: %q", held)
	}
}

// viewMap is a view's subscribed names and their at versions.
func viewMap(v *deltaView) map[string]uint64 {
	m := map[string]uint64{}
	for name, at := range v.subscribed {
		m[name] = at
	}
	return m
}
