package xds

import (
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

const (
	stripeSecret = "atlas/stripe/authorization"
	githubSecret = "atlas/github/authorization"
)

// subscribeAll subscribes as Envoy does (wildcard clusters and listeners,
// routes and secrets by name), ACKs every response and returns them by type.
func subscribeAll(c *deltaClient, node *corev3.Node, secrets ...string) map[string]*discoveryv3.DeltaDiscoveryResponse {
	got := map[string]*discoveryv3.DeltaDiscoveryResponse{}
	for _, req := range []*discoveryv3.DeltaDiscoveryRequest{
		{Node: node, TypeUrl: resource.ClusterType},
		{TypeUrl: resource.ListenerType},
		{TypeUrl: resource.RouteType, ResourceNamesSubscribe: []string{"atlas_routes"}},
		{TypeUrl: resource.SecretType, ResourceNamesSubscribe: secrets},
	} {
		r := c.subscribe(req)
		c.ack(r)
		got[r.GetTypeUrl()] = r
	}
	return got
}

func TestDeltaADSDeliversOnlyChangesAndWaitAcked(t *testing.T) {
	s, client := startServer(t)
	if _, err := s.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	c := newDeltaClient(t, client)
	first := subscribeAll(c, &corev3.Node{Id: "envoy-d", Cluster: "atlas"}, stripeSecret)
	for typeURL, r := range first {
		if r.GetSystemVersionInfo() != "1" || len(r.GetResources()) != 1 || r.GetNonce() == "" {
			t.Fatalf("%s: version %q, %d resources, nonce %q; want version 1, 1 resource, a nonce", typeURL, r.GetSystemVersionInfo(), len(r.GetResources()), r.GetNonce())
		}
	}
	all := Want{resource.ClusterType: nil, resource.ListenerType: nil, resource.RouteType: nil, resource.SecretType: {stripeSecret}}
	if !s.WaitAcked(t.Context(), "1", all, 5*time.Second) {
		t.Fatalf("WaitAcked(1) = false; fleet %+v", s.Fleet())
	}
	n := nodeStatus(t, s, "envoy-d")
	if !n.Connected || n.Cluster != "atlas" {
		t.Fatalf("node = %+v", n)
	}
	if cs := n.Types[resource.ClusterType]; !cs.Delta || cs.AckedVersion != "1" || !slices.Equal(cs.AckedNames, []string{"atlas_adapter_stripe"}) {
		t.Fatalf("cluster status = %+v", cs)
	}

	// Version 2 adds an adapter: only the new cluster is sent, and the new
	// secret is not sent at all (this Envoy never asked for it).
	if _, err := s.Publish(t.Context(), resources(t, "stripe", "github")); err != nil {
		t.Fatal(err)
	}
	if s.ChangedAt(resource.SecretType) != 2 || s.ChangedAt(resource.ClusterType) != 2 {
		t.Fatalf("secrets changed at %d, clusters at %d; want 2", s.ChangedAt(resource.SecretType), s.ChangedAt(resource.ClusterType))
	}
	var second []*discoveryv3.DeltaDiscoveryResponse
	for _, typeURL := range []string{resource.ClusterType, resource.RouteType, resource.ListenerType} {
		if s.ChangedAt(typeURL) != 2 {
			continue
		}
		r := c.recv()
		if r.GetSystemVersionInfo() != "2" {
			t.Fatalf("%s pushed at version %q, want 2", r.GetTypeUrl(), r.GetSystemVersionInfo())
		}
		if r.GetTypeUrl() == resource.ClusterType && !slices.Equal(names(r), []string{"atlas_adapter_github"}) {
			t.Fatalf("cluster push carries %q, want only the new cluster", names(r))
		}
		second = append(second, r)
	}
	c.quiet(100 * time.Millisecond) // no secret push
	if s.WaitAcked(t.Context(), "2", all, 50*time.Millisecond) {
		t.Fatal("WaitAcked(2) = true before the Envoy ACKed version 2")
	}
	// A named type (routes) whose subscribed name changed is waited for
	// until its own ACK, whatever the other types do.
	var route *discoveryv3.DeltaDiscoveryResponse
	for _, r := range second {
		if r.GetTypeUrl() == resource.RouteType {
			route = r
			continue
		}
		c.ack(r)
	}
	if route == nil {
		t.Fatal("version 2 changed no route; the test needs a route change")
	}
	if s.WaitAcked(t.Context(), "2", Want{resource.RouteType: nil}, 50*time.Millisecond) {
		t.Fatal("WaitAcked(2, routes) = true before the route push was ACKed")
	}
	c.ack(route)
	if !s.WaitAcked(t.Context(), "2", all, 5*time.Second) {
		t.Fatalf("WaitAcked(2) = false after the ACKs; fleet %+v", s.Fleet())
	}
	n = nodeStatus(t, s, "envoy-d")
	if ss := n.Types[resource.SecretType]; ss.AckedVersion != "1" {
		t.Fatalf("secret AckedVersion = %q; the untouched secret must stay ACKed at 1", ss.AckedVersion)
	}
	if cs := n.Types[resource.ClusterType]; !slices.Equal(cs.AckedNames, []string{"atlas_adapter_github", "atlas_adapter_stripe"}) {
		t.Fatalf("cluster AckedNames = %q, want both clusters", cs.AckedNames)
	}
	if s.WaitAcked(t.Context(), "2", Want{resource.SecretType: {githubSecret}}, 50*time.Millisecond) {
		t.Fatal("WaitAcked = true for a secret the Envoy does not hold")
	}

	// Subscribing to the new secret brings it; unsubscribing drops one.
	r := c.subscribe(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.SecretType, ResourceNamesSubscribe: []string{githubSecret}})
	if !slices.Equal(names(r), []string{githubSecret}) || r.GetSystemVersionInfo() != "2" {
		t.Fatalf("secret push: %q at version %q", names(r), r.GetSystemVersionInfo())
	}
	c.ack(r)
	both := Want{resource.SecretType: {githubSecret, stripeSecret}}
	if !s.WaitAcked(t.Context(), "2", both, 5*time.Second) {
		t.Fatalf("WaitAcked for both secrets = false; fleet %+v", s.Fleet())
	}
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.SecretType, ResourceNamesUnsubscribe: []string{stripeSecret}})
	eventually(t, "the unsubscribed secret leaves AckedNames", func() bool {
		return slices.Equal(nodeStatus(t, s, "envoy-d").Types[resource.SecretType].AckedNames, []string{githubSecret})
	})
	if s.WaitAcked(t.Context(), "2", both, 50*time.Millisecond) {
		t.Fatal("WaitAcked = true for a secret the Envoy unsubscribed from")
	}
	c.quiet(100 * time.Millisecond)
}
