package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// What "delivered" means: the server has seen every stream ACK what
// changed. The server sends a type to a stream only when a resource the
// stream subscribes to changes (delta, and SotW from the per-type caches
// alike), so a stream that is up to date has ACKed, for each type, a
// response sent at or after the last change of that type that concerns it,
// and nothing newer. A change concerns every stream (they all follow the
// same names) when it adds, changes or removes a listener or cluster
// (wildcard), or adds or changes a route configuration or secret that a
// listener or cluster names; a named resource nobody references is not sent
// to anyone (with -sds wildcard every change concerns every stream, except
// SotW's removal of a route configuration or secret, which SotW cannot
// express). The server records per stream and type the version of the last
// response ACKed (SotW's version_info, delta's system_version_info), the
// names held (delta) or requested (SotW), and per type the Publish that last
// changed it (ChangedAt); the version a response carries is never older
// than the last change made before it was sent.
//
// A stream counts as delivered when, for every type, both hold:
//   - on delta streams, the server's own rule, Server.Delivered (what
//     WaitAcked uses): the stream ACKed ChangedAt or later, or (by name)
//     none of its names changed since its last ACK. (Over SotW that rule
//     waits forever once a route configuration or secret is deleted: SotW
//     sends nothing for it. The benchmark's changes only add, but the
//     tests remove too.)
//   - this harness's rule, from the change it published: for each type the
//     change concerns, the stream ACKed ChangedAt or later, and the server
//     records it holding (delta) or requesting (SotW, by name) every
//     resource the change added or updated.

// typeKeys are the four types, with the short names of the report.
var typeKeys = []struct{ url, key string }{
	{resource.ListenerType, "listeners"},
	{resource.RouteType, "routes"},
	{resource.ClusterType, "clusters"},
	{resource.SecretType, "secrets"},
}

// change is what going from one config to the next changes, by type.
type change struct {
	// concerns: the type URLs whose change every stream must ACK anew.
	concerns map[string]bool
	// names: by type URL, the resources added or updated that the server's
	// fleet state must show each stream holding (delta) or requesting (SotW
	// by name); none for SotW wildcard types, whose ACKs carry no names.
	names map[string][]string
	// gone: by type URL, the names removed.
	gone map[string]map[string]bool
	// Bytes is the marshalled size of the resources added or changed, and
	// Count how many there are, by short type name: what a delta stream
	// receives (each resource once more in a Resource with its name and
	// version); Removed counts the names removed.
	Bytes   map[string]int `json:"bytes"`
	Count   map[string]int `json:"resources"`
	Removed map[string]int `json:"removed,omitempty"`
}

// diffResources compares prev (nil: nothing published yet) with next.
func diffResources(prev, next *translate.Resources, follow, delta bool) (*change, error) {
	byType := func(r *translate.Resources, t string) []types.Resource {
		if r == nil {
			return nil
		}
		switch t {
		case resource.ListenerType:
			return r.Listeners
		case resource.RouteType:
			return r.Routes
		case resource.ClusterType:
			return r.Clusters
		default:
			return r.Secrets
		}
	}
	named := map[string]map[string]bool{resource.RouteType: {}, resource.SecretType: {}}
	if follow {
		for _, l := range next.Listeners {
			r, err := listenerRefs(l.(*listenerv3.Listener))
			if err != nil {
				return nil, err
			}
			addRefs(named, r)
		}
		for _, c := range next.Clusters {
			r, err := clusterRefs(c.(*clusterv3.Cluster))
			if err != nil {
				return nil, err
			}
			addRefs(named, r)
		}
	}
	ch := &change{concerns: map[string]bool{}, names: map[string][]string{}, gone: map[string]map[string]bool{}, Bytes: map[string]int{}, Count: map[string]int{}, Removed: map[string]int{}}
	for _, tk := range typeKeys {
		old := map[string]types.Resource{}
		for _, r := range byType(prev, tk.url) {
			old[cachev3.GetResourceName(r)] = r
		}
		wildcard := !follow || follows(tk.url)
		for _, r := range byType(next, tk.url) {
			n := cachev3.GetResourceName(r)
			if o, ok := old[n]; !ok || !proto.Equal(o, r) {
				ch.Bytes[tk.key] += proto.Size(r)
				ch.Count[tk.key]++
				if wildcard || named[tk.url][n] {
					ch.concerns[tk.url] = true
					if delta || !wildcard {
						ch.names[tk.url] = append(ch.names[tk.url], n)
					}
				}
			}
			delete(old, n)
		}
		if len(old) > 0 {
			ch.Removed[tk.key] = len(old)
			ch.gone[tk.url] = map[string]bool{}
			for n := range old {
				ch.gone[tk.url][n] = true
			}
			if wildcard && (delta || follows(tk.url)) {
				ch.concerns[tk.url] = true
			}
		}
	}
	return ch, nil
}

func addRefs(named map[string]map[string]bool, r *refs) {
	for _, n := range r.routes {
		named[resource.RouteType][n] = true
	}
	for _, n := range r.secrets {
		named[resource.SecretType][n] = true
	}
}

// targets is, by type URL, what each stream must have ACKed (absent: no
// change of that type concerned the streams yet).
type targets map[string]target

type target struct {
	version uint64
	names   []string
}

// advance records a publish of ch: each type it concerns must now be ACKed
// at the version at which the server last changed it, holding the names ch
// added or updated. For a phased publish (several Publish calls) ch is the
// whole change, and a concerned type's target is the last Publish that
// changed it. Names ch removes are no longer waited for.
func (tg targets) advance(srv *xds.Server, ch *change) {
	for t, g := range tg {
		g.names = slices.DeleteFunc(slices.Clone(g.names), func(n string) bool { return ch.gone[t][n] })
		tg[t] = g
	}
	for t := range ch.concerns {
		tg[t] = target{version: srv.ChangedAt(t), names: ch.names[t]}
	}
}

// waitDelivered waits until the server's fleet state shows every connected
// client delivered (see above), and returns each client's time from t0 to
// its last ACK (the server's AckedAt), so the times do not
// depend on when the poll noticed. It reads only the server's own state, so
// it measures what `mom atlas status` would show. The poll runs in the
// control plane's process: a client found delivered is not checked again,
// the cheap conditions are checked before Server.Delivered (which walks
// every name a delta stream subscribes to), and the poll slows down as the
// wait grows.
func waitDelivered(ctx context.Context, srv *xds.Server, t0 time.Time, tg targets, timeout time.Duration) ([]time.Duration, error) {
	deadline := time.Now().Add(timeout)
	doneAt := map[string]time.Duration{}
	for {
		connected := 0
		why := ""
		for _, n := range srv.Fleet() {
			if !n.Connected {
				continue
			}
			connected++
			if _, ok := doneAt[n.NodeID]; ok {
				continue
			}
			if w := undelivered(srv, n, tg); w != "" {
				why = w
				continue
			}
			var last time.Time
			for _, tk := range typeKeys {
				if a := n.Types[tk.url].AckedAt; a.After(last) {
					last = a
				}
			}
			doneAt[n.NodeID] = max(last.Sub(t0), time.Nanosecond)
		}
		if connected > 0 && why == "" {
			at := make([]time.Duration, 0, len(doneAt))
			for _, d := range doneAt {
				at = append(at, d)
			}
			return at, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s, %d of %d clients have not ACKed every changed type (e.g. %s)", timeout, connected-len(doneAt), connected, why)
		}
		// Each poll copies the fleet state: every 2 ms at first, then
		// less often (by 10 s, every 20 ms; the times come from AckedAt).
		wait := min(max(time.Since(t0)/500, 2*time.Millisecond), 20*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// undelivered says what a client still lacks ("": nothing).
func undelivered(srv *xds.Server, n xds.NodeStatus, tg targets) string {
	for _, tk := range typeKeys {
		st := n.Types[tk.url]
		if tg, found := tg[tk.url]; found {
			if v, _ := strconv.ParseUint(st.AckedVersion, 10, 64); v < tg.version || !holds(st.AckedNames, tg.names) {
				return fmt.Sprintf("%s: %s at %q, target %d, holding %d names, all of %v: %t",
					n.NodeID, tk.key, st.AckedVersion, tg.version, len(st.AckedNames), tg.names, holds(st.AckedNames, tg.names))
			}
		}
	}
	for _, tk := range typeKeys {
		st := n.Types[tk.url]
		if st.Delta && srv.ChangedAt(tk.url) > 0 && !srv.Delivered(n, tk.url) {
			return fmt.Sprintf("%s: %s at %q, changed at %d: not delivered by the server's rule", n.NodeID, tk.key, st.AckedVersion, srv.ChangedAt(tk.url))
		}
	}
	return ""
}

// holds reports whether sorted (TypeStatus.AckedNames) has every name.
func holds(sorted, names []string) bool {
	for _, n := range names {
		if _, ok := slices.BinarySearch(sorted, n); !ok {
			return false
		}
	}
	return true
}
