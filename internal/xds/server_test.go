package xds

import (
	"log/slog"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"

	"github.com/atlas-gateway/atlas/internal/grpctest"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// startServer runs a real go-control-plane ADS server on 127.0.0.1:0.
func startServer(t *testing.T) (*Server, discoveryv3.AggregatedDiscoveryServiceClient) {
	t.Helper()
	s := New(t.Context(), slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return s, serve(t, s)
}

// serve registers s on a gRPC server on 127.0.0.1:0 and returns a client.
func serve(t *testing.T, s *Server) discoveryv3.AggregatedDiscoveryServiceClient {
	t.Helper()
	return discoveryv3.NewAggregatedDiscoveryServiceClient(grpctest.Serve(t, s.Register))
}

func resources(t *testing.T, adapters ...string) *translate.Resources {
	t.Helper()
	cfg := &model.Config{IngressPort: 18082}
	for _, a := range adapters {
		cfg.Adapters = append(cfg.Adapters, model.Adapter{
			Name:     a,
			Upstream: model.Upstream{Scheme: "http", Host: "127.0.0.1", Port: 12111},
			Headers:  []model.Header{{Name: "Authorization", Value: "Bearer sk_test_x"}},
		})
	}
	res, err := translate.Translate(cfg, translate.Options{ListenAddress: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func recvWithin(t *testing.T, stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient) *discoveryv3.DiscoveryResponse {
	t.Helper()
	type result struct {
		r   *discoveryv3.DiscoveryResponse
		err error
	}
	ch := make(chan result, 1)
	go func() { r, err := stream.Recv(); ch <- result{r, err} }()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("Recv: %v", res.err)
		}
		return res.r
	case <-time.After(10 * time.Second):
		t.Fatal("no DiscoveryResponse within 10s")
	}
	return nil
}

func TestADSDeliversSnapshotAndTracksAckNack(t *testing.T) {
	s, client := startServer(t)
	if _, err := s.Publish(t.Context(), resources(t, "stripe")); err != nil {
		t.Fatal(err)
	}
	stream, err := client.StreamAggregatedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-a", Cluster: "atlas"}
	// Clusters, not the listener: the listener does not depend on the
	// adapters, so only clusters surely change when one is added.
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp := recvWithin(t, stream)
	if resp.GetVersionInfo() != "1" || len(resp.GetResources()) != 1 {
		t.Fatalf("got version %q with %d clusters, want version 1 with 1", resp.GetVersionInfo(), len(resp.GetResources()))
	}
	var c clusterv3.Cluster
	if err := resp.GetResources()[0].UnmarshalTo(&c); err != nil || c.GetName() != "atlas_adapter_stripe" {
		t.Fatalf("cluster %q, err %v", c.GetName(), err)
	}

	// ACK version 1, then a new publish reaches the open stream.
	ack := &discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resource.ClusterType, VersionInfo: "1", ResponseNonce: resp.GetNonce()}
	if err := stream.Send(ack); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(t.Context(), resources(t, "stripe", "github")); err != nil {
		t.Fatal(err)
	}
	resp2 := recvWithin(t, stream)
	if resp2.GetVersionInfo() != "2" {
		t.Fatalf("second push has version %q, want 2", resp2.GetVersionInfo())
	}

	// NACK version 2: counted and recorded with Envoy's message.
	nack := &discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resource.ClusterType, VersionInfo: "1", ResponseNonce: resp2.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: "Proto constraint validation failed: boom"}}
	if err := stream.Send(nack); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.NACKs() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.NACKs() != 1 {
		t.Fatalf("NACKs() = %d, want 1", s.NACKs())
	}
	fleet := s.Fleet()
	if len(fleet) != 1 || fleet[0].NodeID != "envoy-a" || fleet[0].Cluster != "atlas" || !fleet[0].Connected {
		t.Fatalf("fleet = %+v", fleet)
	}
	cs := fleet[0].Types[resource.ClusterType]
	if !cs.NACK || cs.Error != "Proto constraint validation failed: boom" || cs.AckedVersion != "1" || cs.SentVersion != "2" || cs.Delta {
		t.Fatalf("cluster status = %+v", cs)
	}
}

func TestPublishRejectsInconsistentSnapshot(t *testing.T) {
	s, _ := startServer(t)
	res := resources(t, "stripe")
	res.Routes = nil // the listener's RDS name now points at nothing
	if _, err := s.Publish(t.Context(), res); err == nil {
		t.Fatal("Publish accepted a snapshot whose listener references a missing route configuration")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
