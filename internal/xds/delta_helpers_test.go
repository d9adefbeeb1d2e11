package xds

import (
	"slices"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
)

// deltaClient is a delta ADS client over real gRPC; one goroutine reads the
// stream so a test can also check that nothing arrives.
type deltaClient struct {
	t  *testing.T
	st discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	ch chan *discoveryv3.DeltaDiscoveryResponse
}

func newDeltaClient(t *testing.T, client discoveryv3.AggregatedDiscoveryServiceClient) *deltaClient {
	t.Helper()
	st, err := client.DeltaAggregatedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := &deltaClient{t: t, st: st, ch: make(chan *discoveryv3.DeltaDiscoveryResponse, 16)}
	go func() {
		defer close(c.ch)
		for {
			r, err := st.Recv()
			if err != nil {
				return
			}
			c.ch <- r
		}
	}()
	return c
}

func (c *deltaClient) send(req *discoveryv3.DeltaDiscoveryRequest) {
	c.t.Helper()
	if err := c.st.Send(req); err != nil {
		c.t.Fatalf("Send: %v", err)
	}
}

func (c *deltaClient) recv() *discoveryv3.DeltaDiscoveryResponse {
	c.t.Helper()
	select {
	case r, ok := <-c.ch:
		if !ok {
			c.t.Fatal("delta stream ended")
		}
		return r
	case <-time.After(10 * time.Second):
		c.t.Fatal("no DeltaDiscoveryResponse within 10s")
	}
	return nil
}

// quiet fails the test if a response arrives within d.
func (c *deltaClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case r := <-c.ch:
		c.t.Fatalf("unexpected response: type %s version %s, %d resources, removed %q", r.GetTypeUrl(), r.GetSystemVersionInfo(), len(r.GetResources()), r.GetRemovedResources())
	case <-time.After(d):
	}
}

func (c *deltaClient) ack(r *discoveryv3.DeltaDiscoveryResponse) {
	c.t.Helper()
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()})
}

func (c *deltaClient) nack(r *discoveryv3.DeltaDiscoveryResponse, msg string) {
	c.t.Helper()
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: msg}})
}

// subscribe sends a request for typeURL and returns the response.
func (c *deltaClient) subscribe(req *discoveryv3.DeltaDiscoveryRequest) *discoveryv3.DeltaDiscoveryResponse {
	c.t.Helper()
	c.send(req)
	r := c.recv()
	if r.GetTypeUrl() != req.GetTypeUrl() {
		c.t.Fatalf("asked for %s, got %s", req.GetTypeUrl(), r.GetTypeUrl())
	}
	return r
}

func names(r *discoveryv3.DeltaDiscoveryResponse) []string {
	var out []string
	for _, res := range r.GetResources() {
		out = append(out, res.GetName())
	}
	slices.Sort(out)
	return out
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 5s: %s", what)
}

func nodeStatus(t *testing.T, s *Server, id string) NodeStatus {
	t.Helper()
	for _, n := range s.Fleet() {
		if n.NodeID == id {
			return n
		}
	}
	t.Fatalf("node %s not in Fleet()", id)
	return NodeStatus{}
}
