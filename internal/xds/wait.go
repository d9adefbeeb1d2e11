package xds

import (
	"context"
	"strconv"
	"time"
)

// Want is what WaitAcked waits for, per xDS type URL: the version, and
// resource names that must be among those the Envoy subscribed to and ACKed
// (nil for types fetched as a whole).
type Want map[string][]string

// WaitAcked waits until every connected Envoy has ACKed, for each type in
// want, the version at which that type last changed (types are sent only
// when they change) or a later one, holding the wanted names; or a NACK
// arrives, or timeout passes. version is the Publish being waited for. It reports whether all
// Envoys confirmed; with no Envoy connected it returns true at once.
//
// Publishing in order (a listener with new filters first, the routes that
// enable them after) needs this: a route applied before its listener would
// be served by the old filter chain, without the new filter.
func (s *Server) WaitAcked(ctx context.Context, version string, want Want, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		done, failed := s.acked(version, want)
		if done {
			return true
		}
		if failed {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}

func (s *Server) acked(version string, want Want) (done, failed bool) {
	for _, n := range s.fleet.snapshot() {
		if !n.Connected {
			continue
		}
		for typeURL, names := range want {
			target := s.ChangedAt(typeURL)
			if target == 0 {
				continue // nothing of this type was ever sent
			}
			t := n.Types[typeURL]
			if t.NACK && t.SentVersion == version {
				return false, true
			}
			if versionNumber(t.AckedVersion) < target || !contains(t.AckedNames, names) {
				return false, false
			}
		}
	}
	return true, false
}

// versionNumber parses a Publish version; anything else is 0.
func versionNumber(v string) uint64 {
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

func contains(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
