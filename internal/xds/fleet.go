package xds

import (
	"slices"
	"sort"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// NodeStatus is what the control plane knows about one Envoy.
type NodeStatus struct {
	NodeID      string
	Cluster     string
	ConnectedAt time.Time
	Connected   bool
	// Types is keyed by xDS type URL.
	Types map[string]TypeStatus
}

// TypeStatus is the delivery state of one resource type to one Envoy.
type TypeStatus struct {
	SentVersion  string
	SentAt       time.Time
	AckedVersion string
	AckedAt      time.Time
	// AckedNames, sorted: over SotW the resource names of the last ACKed
	// request (empty for wildcard types such as clusters and listeners);
	// over delta xDS every name the Envoy holds after its last ACK.
	AckedNames []string
	// NACK is true when the last reply was a rejection; Error is Envoy's text.
	NACK  bool
	Error string
	// The last rejection, kept after later ACKs for the record.
	NackedVersion string
	NackedAt      time.Time
	LastNackError string
	// Delta is true when the type was last requested over a delta
	// (incremental) xDS stream.
	Delta bool
	// sub is what WaitAcked needs of a delta subscription (nil for SotW).
	sub *deltaView
}

// streamKey names a stream. go-control-plane v0.14.0 numbers SotW and
// delta streams with two separate counters that both start at 1, so SotW
// stream 1 and delta stream 1 are two different streams.
type streamKey struct {
	delta bool
	id    int64
}

type fleet struct {
	mu      sync.Mutex
	nodes   map[string]*NodeStatus
	streams map[streamKey]string
	// open counts each node's bound streams: an Envoy that reconnects may
	// open its new stream before the old one is closed.
	open   map[string]int
	deltas map[int64]*deltaStream
	// unbound maps a delta request to its stream until the caches are
	// given the request (watchOpened): the stream's response channel is
	// learnt from the first one, to drop the caches' state when it closes.
	unbound map[*discoveryv3.DeltaDiscoveryRequest]int64
}

func newFleet() *fleet {
	return &fleet{nodes: map[string]*NodeStatus{}, streams: map[streamKey]string{}, open: map[string]int{}, deltas: map[int64]*deltaStream{}, unbound: map[*discoveryv3.DeltaDiscoveryRequest]int64{}}
}

// openStream binds a stream to a node; it reports whether the stream is new.
func (f *fleet) openStream(k streamKey, node, cluster string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.streams[k]; ok {
		return false
	}
	f.streams[k] = node
	f.open[node]++
	n, ok := f.nodes[node]
	if !ok {
		n = &NodeStatus{NodeID: node, Types: map[string]TypeStatus{}}
		f.nodes[node] = n
	}
	n.Cluster, n.ConnectedAt, n.Connected = cluster, time.Now(), true
	return true
}

func (f *fleet) closeStream(k streamKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.deltas[k.id]; k.delta && d != nil {
		delete(f.unbound, d.req)
		delete(f.deltas, k.id)
	}
	node, ok := f.streams[k]
	if !ok {
		return
	}
	delete(f.streams, k)
	if f.open[node]--; f.open[node] > 0 {
		return // another stream of this Envoy is still open
	}
	delete(f.open, node)
	if n := f.nodes[node]; n != nil {
		n.Connected = false
	}
}

// nodeOf is the node id bound to a stream ("" before its first request).
func (f *fleet) nodeOf(k streamKey) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams[k]
}

// update changes a type's status for the node behind a stream; f.mu must
// be held.
func (f *fleet) update(k streamKey, typeURL string, fn func(*TypeStatus)) string {
	node := f.streams[k]
	n := f.nodes[node]
	if n == nil {
		return node
	}
	ts := n.Types[typeURL]
	fn(&ts)
	n.Types[typeURL] = ts
	return node
}

func (f *fleet) sent(k streamKey, typeURL, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.update(k, typeURL, func(t *TypeStatus) { t.SentVersion, t.SentAt = version, time.Now() })
}

func (f *fleet) sentVersion(k streamKey, typeURL string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.nodes[f.streams[k]]; n != nil {
		return n.Types[typeURL].SentVersion
	}
	return ""
}

// ack records a SotW ACK: names are the request's resource names.
func (f *fleet) ack(k streamKey, typeURL, version string, names []string) {
	sorted := slices.Sorted(slices.Values(names)) // a new slice: snapshots share the old one
	f.mu.Lock()
	defer f.mu.Unlock()
	f.update(k, typeURL, func(t *TypeStatus) {
		t.AckedVersion, t.AckedAt, t.NACK, t.Error = version, time.Now(), false, ""
		t.AckedNames, t.Delta, t.sub = sorted, false, nil
	})
}

// nack records a rejection of version and returns the node.
func (f *fleet) nack(k streamKey, typeURL, version, msg string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.update(k, typeURL, func(t *TypeStatus) { t.nacked(version, msg) })
}

// nacked records a rejection of version ("": the last version sent).
func (t *TypeStatus) nacked(version, msg string) {
	if version == "" {
		version = t.SentVersion
	}
	t.NACK, t.Error = true, msg
	t.NackedVersion, t.NackedAt, t.LastNackError = version, time.Now(), msg
}

func (f *fleet) snapshot() []NodeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]NodeStatus, 0, len(f.nodes))
	for _, n := range f.nodes {
		c := *n
		c.Types = make(map[string]TypeStatus, len(n.Types))
		for k, v := range n.Types {
			c.Types[k] = v
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}
