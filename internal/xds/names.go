package xds

import (
	"sync"
)

// nameIndex keeps, per type and resource name, the Publish version at which
// the resource last changed (was added, updated or deleted). WaitAcked needs
// it for delta subscriptions by name: a change that touched none of an
// Envoy's names is not sent to it. Deleted names stay, with the version of
// their deletion, so an Envoy that still holds one is waited for.
type nameIndex struct {
	mu     sync.Mutex
	byType map[string]map[string]*nameEntry
}

type nameEntry struct {
	changedAt uint64
	// version is the resource's delta version (the SHA-256 of its
	// deterministic encoding, computed once at Publish: marshalEntries);
	// "" once deleted.
	version string
}

func newNameIndex() *nameIndex {
	return &nameIndex{byType: map[string]map[string]*nameEntry{}}
}

// record notes one Publish's changes to a type.
func (x *nameIndex) record(typeURL string, version uint64, changed map[string]*entry, deleted []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.byType[typeURL]
	if m == nil {
		m = map[string]*nameEntry{}
		x.byType[typeURL] = m
	}
	for name, e := range changed {
		m[name] = &nameEntry{changedAt: version, version: e.version}
	}
	for _, name := range deleted {
		m[name] = &nameEntry{changedAt: version}
	}
}

// current returns, for each name of a reconnecting Envoy's
// initial_resource_versions whose version is the published resource's, the
// version at which that resource last changed: the Envoy already holds it,
// and the server will not send it again.
func (x *nameIndex) current(typeURL string, initial map[string]string) map[string]uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make(map[string]uint64, len(initial))
	for name, v := range initial {
		if e := x.byType[typeURL][name]; e != nil && e.version != "" && e.version == v {
			out[name] = e.changedAt
		}
	}
	return out
}

// upToDate reports whether no name subscribed in v changed after the later
// of acked and the version the name is known to be held at.
func (x *nameIndex) upToDate(typeURL string, v *deltaView, acked uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.byType[typeURL]
	for name, at := range v.subscribed {
		if e := m[name]; e != nil && e.changedAt > max(acked, at) {
			return false
		}
	}
	return true
}
