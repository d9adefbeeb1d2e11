package xds

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
)

// fakeObserver records every call as one line.
type fakeObserver struct {
	mu     sync.Mutex
	events []string
}

func (f *fakeObserver) add(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, a...))
}

func (f *fakeObserver) XDSPush(node, typeURL string) { f.add("push %s %s", node, typeURL) }
func (f *fakeObserver) XDSAck(node, typeURL string)  { f.add("ack %s %s", node, typeURL) }
func (f *fakeObserver) XDSNack(node, typeURL string) { f.add("nack %s %s", node, typeURL) }
func (f *fakeObserver) EnvoyConnected(node string, n int) {
	f.add("connected %s %d", node, n)
}
func (f *fakeObserver) EnvoyDisconnected(node string, n int) {
	f.add("disconnected %s %d", node, n)
}

func (f *fakeObserver) waitFor(t *testing.T, event string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		ok := slices.Contains(f.events, event)
		f.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Fatalf("no %q within 5s; events: %q", event, f.events)
}

func TestObserverSeesPushesAcksNacksAndConnections(t *testing.T) {
	obs := &fakeObserver{}
	s := New(t.Context(), slog.New(slog.NewTextHandler(testWriter{t}, nil)), WithObserver(obs))
	client := serve(t, s)
	if _, err := s.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}

	stream, err := client.StreamAggregatedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-obs"}
	lt := resource.ClusterType // the listener does not change when an adapter is added
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: lt}); err != nil {
		t.Fatal(err)
	}
	resp := recvWithin(t, stream)
	obs.waitFor(t, "connected envoy-obs 1")
	obs.waitFor(t, "push envoy-obs "+lt)

	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: lt, VersionInfo: "1", ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	obs.waitFor(t, "ack envoy-obs "+lt)

	if _, err := s.Publish(t.Context(), resources(t, "stripe", "github")); err != nil {
		t.Fatal(err)
	}
	resp2 := recvWithin(t, stream)
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: lt, VersionInfo: "1", ResponseNonce: resp2.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: "boom"}}); err != nil {
		t.Fatal(err)
	}
	obs.waitFor(t, "nack envoy-obs "+lt)

	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	obs.waitFor(t, "disconnected envoy-obs 0")
}
