package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/atlas-gateway/atlas/internal/xds"
)

// waitDelivered waits until every connected client has ACKed, for each type,
// the version at which the server last changed it (only changed types are
// sent), and fills rd.at with each client's time from rd.t0 to its last ACK.
// It reads the server's own fleet state, so it measures what `mom atlas
// status` would show.
func waitDelivered(ctx context.Context, srv *xds.Server, rd *round, timeout time.Duration) error {
	types := []string{resource.ClusterType, resource.SecretType, resource.RouteType, resource.ListenerType}
	deadline := time.Now().Add(timeout)
	for {
		fleet := srv.Fleet()
		done, connected := 0, 0
		var at []time.Duration
		for _, n := range fleet {
			if !n.Connected {
				continue
			}
			connected++
			ok := true
			var last time.Time
			for _, t := range types {
				target := srv.ChangedAt(t)
				if target == 0 {
					continue
				}
				st := n.Types[t]
				if v, _ := strconv.ParseUint(st.AckedVersion, 10, 64); v < target {
					ok = false
					break
				}
				if st.AckedAt.After(last) {
					last = st.AckedAt
				}
			}
			if ok {
				done++
				at = append(at, max(last.Sub(rd.t0), time.Nanosecond))
			}
		}
		if connected > 0 && done == connected {
			rd.at = at
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of %d clients have not ACKed every changed type", timeout, connected-done, connected)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
