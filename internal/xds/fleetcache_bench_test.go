package xds

import (
	"fmt"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// Benchmarks of the delta path with 10k resources, LinearCache against
// fleetCache, each driven as the delta server drives it (watcher):
//
//   - ACK: one stream holding all 10k resources (wildcard, or subscribed
//     by name) sends an ACK: the watch is cancelled and created again,
//     with nothing to send.
//   - Change: one resource changes with 200 such streams parked, each gets
//     the change and ACKs it: the fan-out of one change.
//
// go test -run '^$' -bench FleetCache -benchmem ./internal/xds/

const benchResources = 10000

func benchCaches() map[string]func() (cachev3.ConfigWatcher, func(seq uint64, changed map[string]types.Resource)) {
	return map[string]func() (cachev3.ConfigWatcher, func(uint64, map[string]types.Resource)){
		"linear": func() (cachev3.ConfigWatcher, func(uint64, map[string]types.Resource)) {
			c := cachev3.NewLinearCache(resource.ClusterType, cachev3.WithLogger(cacheLogger{discardLog()}))
			return c, func(_ uint64, changed map[string]types.Resource) { _ = c.UpdateResources(changed, nil) }
		},
		"fleet": func() (cachev3.ConfigWatcher, func(uint64, map[string]types.Resource)) {
			c := newFleetCache(resource.ClusterType, cachev3.WithLogger(cacheLogger{discardLog()}))
			return c, func(seq uint64, changed map[string]types.Resource) {
				entries, _ := marshalEntries(resource.ClusterType, changed)
				_ = c.update(seq, changed, entries, nil)
			}
		},
	}
}

func benchNames() (map[string]types.Resource, []string) {
	all := make(map[string]types.Resource, benchResources)
	names := make([]string, 0, benchResources)
	for i := range benchResources {
		name := fmt.Sprintf("cluster-%05d", i)
		all[name] = &clusterv3.Cluster{Name: name, AltStatName: "0"}
		names = append(names, name)
	}
	return all, names
}

// benchStream connects a stream that holds every resource and ACKed it.
func benchStream(b *testing.B, c cachev3.ConfigWatcher, wildcard bool, names []string) *watcher {
	w := newWatcher(c)
	req := &cachev3.DeltaRequest{TypeUrl: resource.ClusterType}
	if !wildcard {
		req.ResourceNamesSubscribe = names
	}
	w.request(b, req)
	if got := len(w.drain(b)); got != 1 {
		b.Fatalf("%d responses to the first request", got)
	}
	w.request(b, &cachev3.DeltaRequest{TypeUrl: resource.ClusterType, ResponseNonce: "1"})
	return w
}

func BenchmarkFleetCacheACK(b *testing.B) {
	all, names := benchNames()
	for cacheName, mk := range benchCaches() {
		for _, wildcard := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/wildcard=%t", cacheName, wildcard), func(b *testing.B) {
				c, publish := mk()
				publish(1, all)
				w := benchStream(b, c, wildcard, names)
				ack := &cachev3.DeltaRequest{TypeUrl: resource.ClusterType, ResponseNonce: "2"}
				b.ResetTimer()
				for range b.N {
					w.request(b, ack)
				}
				b.StopTimer()
				if len(w.drain(b)) != 0 {
					b.Fatal("an ACK was answered")
				}
			})
		}
	}
}

func BenchmarkFleetCacheChange(b *testing.B) {
	all, names := benchNames()
	const streams = 200
	for cacheName, mk := range benchCaches() {
		b.Run(cacheName, func(b *testing.B) {
			c, publish := mk()
			publish(1, all)
			ws := make([]*watcher, streams)
			for i := range ws {
				ws[i] = benchStream(b, c, true, names)
			}
			seq := uint64(1)
			ack := &cachev3.DeltaRequest{TypeUrl: resource.ClusterType, ResponseNonce: "2"}
			b.ResetTimer()
			for i := range b.N {
				seq++
				name := names[i%len(names)]
				publish(seq, map[string]types.Resource{name: &clusterv3.Cluster{Name: name, AltStatName: fmt.Sprint(seq)}})
				for _, w := range ws {
					if n := len(w.drain(b)); n != 1 {
						b.Fatalf("%d responses to a change", n)
					}
					w.request(b, ack)
				}
			}
		})
	}
}
