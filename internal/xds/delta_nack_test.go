package xds

import (
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

func TestDeltaNackIsRecordedWithoutResendLoop(t *testing.T) {
	s, client := startServer(t)
	if _, err := s.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	c := newDeltaClient(t, client)
	c.ack(c.subscribe(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: "envoy-n"}, TypeUrl: resource.ClusterType}))
	clusters := Want{resource.ClusterType: nil}
	if !s.WaitAcked(t.Context(), "1", clusters, 5*time.Second) {
		t.Fatal("WaitAcked(1) = false")
	}

	if _, err := s.Publish(t.Context(), resources(t, "stripe", "github")); err != nil {
		t.Fatal(err)
	}
	r := c.recv()
	c.nack(r, "Proto constraint validation failed: boom")
	start := time.Now()
	if s.WaitAcked(t.Context(), "2", clusters, 5*time.Second) {
		t.Fatal("WaitAcked(2) = true after a NACK of version 2")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("WaitAcked took %s to see the NACK; it must not wait for the timeout", took)
	}
	if s.NACKs() != 1 {
		t.Fatalf("NACKs() = %d, want 1", s.NACKs())
	}
	cs := nodeStatus(t, s, "envoy-n").Types[resource.ClusterType]
	if !cs.NACK || cs.Error != "Proto constraint validation failed: boom" || cs.NackedVersion != "2" ||
		cs.AckedVersion != "1" || cs.SentVersion != "2" || !slices.Equal(cs.AckedNames, []string{"atlas_adapter_stripe"}) {
		t.Fatalf("cluster status after NACK = %+v", cs)
	}
	// The delta server does not send the rejected resources again.
	c.quiet(300 * time.Millisecond)

	// The next change is sent, and its ACK clears the NACK (kept on record).
	if _, err := s.Publish(t.Context(), resources(t, "github")); err != nil {
		t.Fatal(err)
	}
	r = c.recv()
	// go-control-plane counts the rejected github cluster as sent, so it
	// is not sent again while unchanged: only stripe's removal goes out.
	if r.GetSystemVersionInfo() != "3" || len(r.GetResources()) != 0 || !slices.Equal(r.GetRemovedResources(), []string{"atlas_adapter_stripe"}) {
		t.Fatalf("version 3 push: version %q, resources %q, removed %q", r.GetSystemVersionInfo(), names(r), r.GetRemovedResources())
	}
	c.ack(r)
	if !s.WaitAcked(t.Context(), "3", clusters, 5*time.Second) {
		t.Fatal("WaitAcked(3) = false after its ACK")
	}
	cs = nodeStatus(t, s, "envoy-n").Types[resource.ClusterType]
	if cs.NACK || cs.LastNackError != "Proto constraint validation failed: boom" || cs.NackedVersion != "2" {
		t.Fatalf("cluster status after the next ACK = %+v", cs)
	}
	// The NACKed version 2 added github; the ACKed 3 kept it and removed stripe.
	if len(cs.AckedNames) != 0 {
		t.Fatalf("AckedNames = %q, want none: github was only in the rejected response", cs.AckedNames)
	}
}

// An Envoy reconnecting to a restarted control plane names what it holds
// (initial_resource_versions); what is current is not sent again, and
// WaitAcked must not wait for it.
func TestDeltaReconnectWithCurrentVersionsIsDelivered(t *testing.T) {
	first, client1 := startServer(t)
	if _, err := first.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	c1 := newDeltaClient(t, client1)
	got := subscribeAll(c1, &corev3.Node{Id: "envoy-r"}, stripeSecret)
	held := map[string]map[string]string{}
	for typeURL, r := range got {
		held[typeURL] = map[string]string{}
		for _, res := range r.GetResources() {
			held[typeURL][res.GetName()] = res.GetVersion()
		}
	}

	second, client2 := startServer(t)
	if _, err := second.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	c := newDeltaClient(t, client2)
	c.send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: "envoy-r"}, TypeUrl: resource.RouteType,
		ResourceNamesSubscribe: []string{"atlas_routes"}, InitialResourceVersions: held[resource.RouteType]})
	stale := map[string]string{stripeSecret: "not-the-published-hash"}
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.SecretType,
		ResourceNamesSubscribe: []string{stripeSecret}, InitialResourceVersions: stale})
	// Only the stale secret is sent again.
	r := c.recv()
	if r.GetTypeUrl() != resource.SecretType || !slices.Equal(names(r), []string{stripeSecret}) {
		t.Fatalf("got %s %q, want the stale secret", r.GetTypeUrl(), names(r))
	}
	c.quiet(100 * time.Millisecond)
	routes := Want{resource.RouteType: {"atlas_routes"}}
	if !second.WaitAcked(t.Context(), "1", routes, 5*time.Second) {
		t.Fatalf("WaitAcked(routes) = false for an Envoy that holds the current routes; fleet %+v", second.Fleet())
	}
	secrets := Want{resource.SecretType: {stripeSecret}}
	if second.WaitAcked(t.Context(), "1", secrets, 50*time.Millisecond) {
		t.Fatal("WaitAcked(secrets) = true before the stale secret's update was ACKed")
	}
	c.ack(r)
	if !second.WaitAcked(t.Context(), "1", secrets, 5*time.Second) {
		t.Fatal("WaitAcked(secrets) = false after the ACK")
	}
}
