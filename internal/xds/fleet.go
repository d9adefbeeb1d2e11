package xds

import (
	"sort"
	"sync"
	"time"
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
	// AckedNames are the resource names of the last ACKed request (for
	// types Envoy subscribes to by name, such as secrets and routes).
	AckedNames []string
	// NACK is true when the last reply was a rejection; Error is Envoy's text.
	NACK  bool
	Error string
	// The last rejection, kept after later ACKs for the record.
	NackedVersion string
	NackedAt      time.Time
	LastNackError string
}

type fleet struct {
	mu      sync.Mutex
	nodes   map[string]*NodeStatus
	streams map[int64]string
}

func newFleet() *fleet {
	return &fleet{nodes: map[string]*NodeStatus{}, streams: map[int64]string{}}
}

// openStream binds a stream to a node; it reports whether the stream is new.
func (f *fleet) openStream(id int64, node, cluster string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.streams[id]; ok {
		return false
	}
	f.streams[id] = node
	n, ok := f.nodes[node]
	if !ok {
		n = &NodeStatus{NodeID: node, Types: map[string]TypeStatus{}}
		f.nodes[node] = n
	}
	n.Cluster, n.ConnectedAt, n.Connected = cluster, time.Now(), true
	return true
}

func (f *fleet) closeStream(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if node, ok := f.streams[id]; ok {
		delete(f.streams, id)
		if n := f.nodes[node]; n != nil {
			n.Connected = false
		}
	}
}

func (f *fleet) update(id int64, typeURL string, fn func(*TypeStatus)) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	node := f.streams[id]
	n := f.nodes[node]
	if n == nil {
		return node
	}
	ts := n.Types[typeURL]
	fn(&ts)
	n.Types[typeURL] = ts
	return node
}

func (f *fleet) sent(id int64, typeURL, version string) {
	f.update(id, typeURL, func(t *TypeStatus) { t.SentVersion, t.SentAt = version, time.Now() })
}

func (f *fleet) sentVersion(id int64, typeURL string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.nodes[f.streams[id]]; n != nil {
		return n.Types[typeURL].SentVersion
	}
	return ""
}

func (f *fleet) ack(id int64, typeURL, version string, names []string) {
	f.update(id, typeURL, func(t *TypeStatus) {
		t.AckedVersion, t.AckedAt, t.NACK, t.Error = version, time.Now(), false, ""
		t.AckedNames = append(t.AckedNames[:0], names...)
	})
}

func (f *fleet) nack(id int64, typeURL, msg string) string {
	return f.update(id, typeURL, func(t *TypeStatus) {
		t.NACK, t.Error = true, msg
		t.NackedVersion, t.NackedAt, t.LastNackError = t.SentVersion, time.Now(), msg
	})
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
