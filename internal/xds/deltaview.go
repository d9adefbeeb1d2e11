package xds

import (
	"maps"
	"math"
	"slices"
)

// What the fleet tracking keeps of a delta subscription for WaitAcked, made
// on every request (deltastate.go) and shared, never modified, with the
// Fleet snapshots. A subscription by name holds 10k secrets: a request that
// (un)subscribes a few names must not copy them all, so a view is a base
// map shared by successive views plus a small overlay of the names changed
// since; the base is made again once the overlay outgrows the square root
// of its size (amortised O(√n) per changed name instead of O(n)).

// deltaView is what WaitAcked needs of a delta subscription.
type deltaView struct {
	wildcard bool
	// base maps each subscribed name to the version deltaType.at has for
	// it (0: none); over overrides it (never modified, both).
	base map[string]uint64
	over map[string]viewEntry
}

type viewEntry struct {
	at   uint64
	gone bool // not subscribed
}

// lookup returns a subscribed name's at version.
func (v *deltaView) lookup(name string) (at uint64, ok bool) {
	if e, ok := v.over[name]; ok {
		return e.at, !e.gone
	}
	at, ok = v.base[name]
	return at, ok
}

// subscribed yields each subscribed name with its at version.
func (v *deltaView) subscribed(yield func(string, uint64) bool) {
	for name, at := range v.base {
		if _, ok := v.over[name]; !ok && !yield(name, at) {
			return
		}
	}
	for name, e := range v.over {
		if !e.gone && !yield(name, e.at) {
			return
		}
	}
}

// changed marks a name whose subscription or at version changed.
func (t *deltaType) changed(name string) {
	if t.stale == nil {
		t.stale = map[string]struct{}{}
	}
	t.stale[name] = struct{}{}
}

// view returns the subscription's view, made again only for what changed.
func (t *deltaType) view() *deltaView {
	old, wildcard := t.viewed, t.sub.IsWildcard()
	switch {
	case old != nil && old.wildcard == wildcard && (wildcard || len(t.stale) == 0):
	case wildcard:
		t.viewed = &deltaView{wildcard: true}
	case old == nil || old.wildcard || len(old.over)+len(t.stale) > max(64, int(math.Sqrt(float64(len(old.base))))):
		base := make(map[string]uint64, len(t.sub.SubscribedResources()))
		for name := range t.sub.SubscribedResources() {
			base[name] = t.at[name]
		}
		t.viewed = &deltaView{base: base}
	default:
		over := make(map[string]viewEntry, len(old.over)+len(t.stale))
		maps.Copy(over, old.over)
		for name := range t.stale {
			if _, ok := t.sub.SubscribedResources()[name]; ok {
				over[name] = viewEntry{at: t.at[name]}
			} else {
				over[name] = viewEntry{gone: true}
			}
		}
		t.viewed = &deltaView{base: old.base, over: over}
	}
	clear(t.stale)
	return t.viewed
}

// updateSorted returns a new sorted list: sorted without drop, with add
// (a name already in sorted is not doubled). It copies the runs of sorted
// between the names added or dropped, found by binary search: a few names
// changed in 10k cost a copy, not a lookup per name.
func updateSorted(sorted, add, drop []string) []string {
	add = slices.Compact(slices.Sorted(slices.Values(add)))
	drop = slices.Compact(slices.Sorted(slices.Values(drop)))
	out := make([]string, 0, len(sorted)+len(add))
	i, a, d := 0, 0, 0
	for a < len(add) || d < len(drop) {
		var name string
		adding := false
		switch {
		case d == len(drop) || (a < len(add) && add[a] <= drop[d]):
			name, adding = add[a], true
			if d < len(drop) && drop[d] == name { // added wins, as before
				d++
			}
			a++
		default:
			name = drop[d]
			d++
		}
		j, found := slices.BinarySearch(sorted[i:], name)
		out = append(out, sorted[i:i+j]...)
		i += j
		if found {
			i++
		}
		if adding {
			out = append(out, name)
		}
	}
	return append(out, sorted[i:]...)
}
