package xds

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// Want is what WaitAcked waits for, per xDS type URL: the version, and
// resource names that must be among those the Envoy holds (nil for types
// fetched as a whole).
type Want map[string][]string

// WaitAcked waits until every connected Envoy holds, for each type in want,
// what the type's last change means for it (see Delivered) and the wanted
// names; or a NACK of version arrives, or timeout passes. version is the
// Publish being waited for. It reports whether all Envoys confirmed; with no
// Envoy connected it returns true at once.
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
			if s.ChangedAt(typeURL) == 0 {
				continue // nothing of this type was ever sent
			}
			t := n.Types[typeURL]
			if t.NACK && t.NackedVersion == version {
				return false, true
			}
			if !s.Delivered(n, typeURL) || !contains(t.AckedNames, names) {
				return false, false
			}
		}
	}
	return true, false
}

// Delivered reports whether an Envoy holds what the last change of a type
// (at version ChangedAt(typeURL)) means for it:
//
//   - it ACKed that version or a later one. Each type's version advances
//     with every Publish, and a response is computed from the cache's
//     current state, so an ACK of version v covers every change up to v.
//     Over SotW, and for wildcard delta subscriptions (clusters,
//     listeners), every change is sent, so this is the only rule.
//   - or, for a delta subscription by name (routes, secrets), no name it
//     subscribes to changed after the version it last ACKed (or after the
//     version at which it is known to hold that name: a reconnecting Envoy
//     whose initial_resource_versions match what is published is not sent
//     them again). Delta sends a type only when a subscribed resource
//     changes, so a change that touched none of them (a secret the Envoy
//     never asked for) is never sent to it and counts as delivered. A name
//     the Envoy subscribed to but has not received yet is not waited for
//     here; WaitAcked's wanted names must be held, which covers it.
func (s *Server) Delivered(n NodeStatus, typeURL string) bool {
	t := n.Types[typeURL]
	acked := versionNumber(t.AckedVersion)
	if acked >= s.ChangedAt(typeURL) {
		return true
	}
	if t.sub == nil || t.sub.wildcard {
		return false
	}
	return s.names.upToDate(typeURL, t.sub, acked)
}

// versionNumber parses a Publish version; anything else is 0.
func versionNumber(v string) uint64 {
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// contains reports whether sorted (AckedNames) has every name of want.
func contains(sorted, want []string) bool {
	for _, w := range want {
		if _, ok := slices.BinarySearch(sorted, w); !ok {
			return false
		}
	}
	return true
}
