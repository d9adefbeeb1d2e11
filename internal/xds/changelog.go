package xds

import "sort"

// The change log of a fleetCache (fleetcache.go): which names each Publish
// changed, so a delta stream's later request only looks at what changed
// since the stream was last reconciled.

// snapshot is the cache at one Publish. It is never modified: a Publish
// that changes the type makes a new one.
type snapshot struct {
	seq uint64
	res map[string]*entry
	// log is ordered by seq. Later snapshots may append to the same backing
	// array past len(log), never before it; compaction makes a new array.
	log []logEntry
}

type logEntry struct {
	seq  uint64
	name string
}

// since returns the log entries of Publishes after seq.
func (s *snapshot) since(seq uint64) []logEntry {
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].seq > seq })
	return s.log[i:]
}

// compact returns the log of next without the entries a later one
// supersedes, nor deletions every stream was reconciled past (a stream's
// first request looks at the whole cache, not the log). c.mu is held.
func (c *fleetCache) compact(next *snapshot) []logEntry {
	done := next.seq
	for _, st := range c.streams {
		done = min(done, st.reconciled)
	}
	out := make([]logEntry, 0, len(c.changes))
	for _, le := range next.log {
		if c.changes[le.name] != le.seq {
			continue
		}
		if _, ok := next.res[le.name]; !ok && le.seq <= done {
			delete(c.changes, le.name)
			continue
		}
		out = append(out, le)
	}
	return out
}
