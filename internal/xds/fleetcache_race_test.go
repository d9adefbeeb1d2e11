package xds

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// Concurrency over real gRPC (run with -race): Publishes race with delta
// clients that ACK every response and change their secret subscriptions,
// so watches are parked, answered by Publish, cancelled and created again
// while the cache changes. Every client must end holding exactly what the
// last Publish means for it, and the caches must forget closed streams.

// tokenResources is resources() with a per-adapter token, so a Publish can
// change a cluster's and a secret's content, not only add or remove them.
func tokenResources(t *testing.T, tokens map[string]string) *translate.Resources {
	t.Helper()
	cfg := &model.Config{IngressPort: 18082}
	for a, tok := range tokens {
		cfg.Adapters = append(cfg.Adapters, model.Adapter{
			Name:     a,
			Upstream: model.Upstream{Scheme: "http", Host: "127.0.0.1", Port: 12111},
			Headers:  []model.Header{{Name: "Authorization", Value: "Bearer " + tok}},
		})
	}
	res, err := translate.Translate(cfg, translate.Options{ListenAddress: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// versionsOf maps each resource's name to its delta version.
func versionsOf(t *testing.T, rs []types.Resource) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		b, err := cachev3.MarshalResource(r)
		if err != nil {
			t.Fatal(err)
		}
		out[cachev3.GetResourceName(r)] = cachev3.HashResource(b)
	}
	return out
}

func TestFleetCacheConcurrentPublishAndClients(t *testing.T) {
	s, client := startServer(t)
	adapters := []string{"a1", "a2", "a3", "a4", "a5", "a6"}
	secretOf := func(a string) string { return "atlas/" + a + "/authorization" }
	r := rand.New(rand.NewPCG(1, 2))
	randomTokens := func() map[string]string {
		out := map[string]string{}
		for _, a := range adapters {
			if r.IntN(3) > 0 {
				out[a] = fmt.Sprint(r.IntN(3))
			}
		}
		return out
	}
	if _, err := s.Publish(t.Context(), tokenResources(t, randomTokens())); err != nil {
		t.Fatal(err)
	}
	final := tokenResources(t, map[string]string{"a1": "x", "a3": "y", "a4": "z", "a6": "w"})
	wantClusters, wantSecrets := versionsOf(t, final.Clusters), versionsOf(t, final.Secrets)

	const clients = 4
	done := make(chan struct{}) // closed after the final Publish
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := newDeltaClient(t, client)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- raceClient(c, i, adapters, secretOf, done, wantClusters, wantSecrets)
		}()
	}
	for range 40 {
		if _, err := s.Publish(t.Context(), tokenResources(t, randomTokens())); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
	}
	if _, err := s.Publish(t.Context(), final); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	eventually(t, "the caches forget the closed streams", func() bool {
		n := 0
		for _, c := range s.caches {
			c.mu.Lock()
			n += len(c.streams) + len(c.parked)
			c.mu.Unlock()
		}
		s.fleet.mu.Lock()
		n += len(s.fleet.unbound)
		s.fleet.mu.Unlock()
		return n == 0
	})
}

// raceClient subscribes to every cluster and to some secrets, ACKs every
// response and changes its secrets until done; then it must converge on
// the wanted versions, and its stream is closed.
func raceClient(c *deltaClient, i int, adapters []string, secretOf func(string) string, done chan struct{}, wantClusters, wantSecrets map[string]string) error {
	r := rand.New(rand.NewPCG(uint64(i), 9))
	held := map[string]map[string]string{resource.ClusterType: {}, resource.SecretType: {}}
	subscribed := map[string]bool{}
	send := func(req *discoveryv3.DeltaDiscoveryRequest) error { return c.st.Send(req) }
	if err := send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: fmt.Sprint("race-", i)}, TypeUrl: resource.ClusterType}); err != nil {
		return err
	}
	if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.SecretType, ResourceNamesSubscribe: []string{secretOf("a1")}}); err != nil {
		return err
	}
	subscribed[secretOf("a1")] = true
	converged := func() bool {
		ws := map[string]string{}
		for name := range subscribed {
			if v, ok := wantSecrets[name]; ok {
				ws[name] = v
			}
		}
		return maps.Equal(held[resource.ClusterType], wantClusters) && maps.Equal(held[resource.SecretType], ws)
	}
	finished, deadline := false, time.After(20*time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		if finished && converged() {
			return c.st.CloseSend()
		}
		select {
		case resp, ok := <-c.ch:
			if !ok {
				return fmt.Errorf("client %d: stream ended", i)
			}
			h := held[resp.GetTypeUrl()]
			for _, res := range resp.GetResources() {
				// A response sent before an unsubscription may still bring
				// the name; like Envoy, ignore what is not subscribed.
				if resp.GetTypeUrl() == resource.ClusterType || subscribed[res.GetName()] {
					h[res.GetName()] = res.GetVersion()
				}
			}
			for _, name := range resp.GetRemovedResources() {
				delete(h, name)
			}
			if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}); err != nil {
				return err
			}
		case <-tick.C:
			if finished || r.IntN(4) > 0 {
				continue
			}
			name := secretOf(adapters[r.IntN(len(adapters))])
			req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.SecretType}
			if subscribed[name] {
				req.ResourceNamesUnsubscribe = []string{name}
				delete(subscribed, name)
				delete(held[resource.SecretType], name) // Envoy drops it
			} else {
				req.ResourceNamesSubscribe = []string{name}
				subscribed[name] = true
			}
			if err := send(req); err != nil {
				return err
			}
		case <-done:
			finished, done = true, nil
		case <-deadline:
			return fmt.Errorf("client %d did not converge: clusters %v (want %v), secrets %v (subscribed %v, published %v)",
				i, held[resource.ClusterType], wantClusters, held[resource.SecretType], subscribed, wantSecrets)
		}
	}
}
