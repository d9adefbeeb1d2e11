package xds

import (
	"log/slog"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// A SotW and a delta stream are open at once; go-control-plane numbers both
// 1. Closing the delta stream disconnects only its Envoy.
func TestDeltaObserverAndStreamIDsApartFromSotW(t *testing.T) {
	obs := &fakeObserver{}
	s := New(t.Context(), slog.New(slog.NewTextHandler(testWriter{t}, nil)), WithObserver(obs))
	client := serve(t, s)
	if _, err := s.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	lt := resource.ClusterType // the listener does not change when an adapter is added

	sotw, err := client.StreamAggregatedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := sotw.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "envoy-sotw"}, TypeUrl: lt}); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, sotw)
	obs.waitFor(t, "connected envoy-sotw 1")

	c := newDeltaClient(t, client)
	r := c.subscribe(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: "envoy-delta"}, TypeUrl: lt})
	obs.waitFor(t, "connected envoy-delta 2")
	obs.waitFor(t, "push envoy-delta "+lt)
	c.ack(r)
	obs.waitFor(t, "ack envoy-delta "+lt)

	if _, err := s.Publish(t.Context(), resources(t, "stripe", "github")); err != nil {
		t.Fatal(err)
	}
	c.nack(c.recv(), "boom")
	obs.waitFor(t, "nack envoy-delta "+lt)

	if err := c.st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	obs.waitFor(t, "disconnected envoy-delta 1")
	if n := nodeStatus(t, s, "envoy-delta"); n.Connected {
		t.Fatal("envoy-delta still Connected after its delta stream closed")
	}
	if n := nodeStatus(t, s, "envoy-sotw"); !n.Connected {
		t.Fatal("closing delta stream 1 disconnected the SotW Envoy on SotW stream 1")
	}
	if s.NACKs() != 1 {
		t.Fatalf("NACKs() = %d, want 1", s.NACKs())
	}
}
