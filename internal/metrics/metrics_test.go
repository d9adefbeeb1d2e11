package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// Metrics is what the servers observe with.
var (
	_ xds.Observer      = (*Metrics)(nil)
	_ extproc.Observer  = (*Metrics)(nil)
	_ extauthz.Observer = (*Metrics)(nil)
)

const (
	listenerURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	clusterURL  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
)

func TestXDS(t *testing.T) {
	m := New()
	m.EnvoyConnected("edge-1", 1)
	m.EnvoyConnected("edge-2", 2)
	m.XDSPush("edge-1", listenerURL)
	m.XDSPush("edge-1", listenerURL)
	m.XDSAck("edge-1", listenerURL)
	m.XDSNack("edge-1", listenerURL)
	m.XDSPush("edge-2", clusterURL)

	want := `
# HELP atlas_xds_pushes_total xDS responses sent to Envoys, by node id and resource type.
# TYPE atlas_xds_pushes_total counter
atlas_xds_pushes_total{node="edge-1",type="listener"} 2
atlas_xds_pushes_total{node="edge-2",type="cluster"} 1
# HELP atlas_xds_acks_total xDS responses Envoys accepted (ACK), by node id and resource type.
# TYPE atlas_xds_acks_total counter
atlas_xds_acks_total{node="edge-1",type="listener"} 1
atlas_xds_acks_total{node="edge-2",type="cluster"} 0
# HELP atlas_xds_nacks_total xDS responses Envoys rejected (NACK), by node id and resource type; Atlas logs Envoy's reason.
# TYPE atlas_xds_nacks_total counter
atlas_xds_nacks_total{node="edge-1",type="listener"} 1
atlas_xds_nacks_total{node="edge-2",type="cluster"} 0
# HELP atlas_xds_connected_envoys Envoys with an open xDS stream.
# TYPE atlas_xds_connected_envoys gauge
atlas_xds_connected_envoys 2
`
	names := []string{"atlas_xds_pushes_total", "atlas_xds_acks_total", "atlas_xds_nacks_total", "atlas_xds_connected_envoys"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	// A node that leaves takes its series with it.
	m.EnvoyDisconnected("edge-1", 1)
	if got := testutil.ToFloat64(m.xdsConnected); got != 1 {
		t.Errorf("connected = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.xdsPushes); n != 1 {
		t.Errorf("%d push series after edge-1 left, want 1 (edge-2's)", n)
	}
	if n := testutil.CollectAndCount(m.xdsNacks); n != 1 {
		t.Errorf("%d NACK series after edge-1 left, want 1", n)
	}
}

func TestResourceType(t *testing.T) {
	for url, want := range map[string]string{
		listenerURL: "listener",
		"type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "route",
		clusterURL: "cluster",
		"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment":   "endpoint",
		"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret": "secret",
		"type.googleapis.com/some.Thing":                                       "other",
		"":                                                                     "other",
		"no-dots":                                                              "other",
	} {
		if got := resourceType(url); got != want {
			t.Errorf("resourceType(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestReloadsStartAtZero(t *testing.T) {
	m := New()
	if n := testutil.CollectAndCount(m.reloads); n != 9 {
		t.Errorf("%d reload series before any reload, want 9 (3 triggers x 3 results)", n)
	}
	m.Reload(TriggerStart, ResultSuccess)
	m.Reload(TriggerFile, ResultInvalid)
	m.Reload(TriggerFile, ResultInvalid)
	m.Reload(TriggerStore, ResultFailed)
	for _, c := range []struct {
		trigger, result string
		want            float64
	}{
		{TriggerStart, ResultSuccess, 1},
		{TriggerFile, ResultInvalid, 2},
		{TriggerFile, ResultSuccess, 0},
		{TriggerStore, ResultFailed, 1},
	} {
		if got := testutil.ToFloat64(m.reloads.WithLabelValues(c.trigger, c.result)); got != c.want {
			t.Errorf("reloads{%s,%s} = %v, want %v", c.trigger, c.result, got, c.want)
		}
	}
}

func TestDecisions(t *testing.T) {
	m := New()
	m.Decision("extproc", "stripe", OutcomeAllowed, 40*time.Microsecond)
	m.Decision("extproc", "stripe", OutcomeAllowed, 60*time.Microsecond)
	m.Decision("extproc", "stripe", "signature_invalid", 30*time.Microsecond)
	m.Decision("extauthz", "backend", "body_too_large", 2*time.Millisecond)
	m.Decision("other", "backend", OutcomeAllowed, time.Millisecond) // not a known filter: still counted

	for _, c := range []struct {
		filter, adapter, outcome string
		want                     float64
	}{
		{"extproc", "stripe", OutcomeAllowed, 2},
		{"extproc", "stripe", "signature_invalid", 1},
		{"extauthz", "backend", "body_too_large", 1},
		{"other", "backend", OutcomeAllowed, 1},
	} {
		if got := testutil.ToFloat64(m.decisions.WithLabelValues(c.filter, c.adapter, c.outcome)); got != c.want {
			t.Errorf("decisions{%s,%s,%s} = %v, want %v", c.filter, c.adapter, c.outcome, got, c.want)
		}
	}

	want := `
# HELP atlas_signature_decision_duration_seconds Time Atlas took to decide a signed request once it had what it needed (headers, or the buffered body), by filter.
# TYPE atlas_signature_decision_duration_seconds histogram
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="1e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="2.5e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="5e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.0001"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.00025"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.0005"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.001"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.0025"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.005"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.01"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.025"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="0.05"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extauthz",le="+Inf"} 1
atlas_signature_decision_duration_seconds_sum{filter="extauthz"} 0.002
atlas_signature_decision_duration_seconds_count{filter="extauthz"} 1
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="1e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="2.5e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="5e-05"} 2
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.0001"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.00025"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.0005"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.001"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.0025"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.005"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.01"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.025"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="0.05"} 3
atlas_signature_decision_duration_seconds_bucket{filter="extproc",le="+Inf"} 3
atlas_signature_decision_duration_seconds_sum{filter="extproc"} 0.00013000000000000002
atlas_signature_decision_duration_seconds_count{filter="extproc"} 3
atlas_signature_decision_duration_seconds_bucket{filter="other",le="1e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="2.5e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="5e-05"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.0001"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.00025"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.0005"} 0
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.001"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.0025"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.005"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.01"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.025"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="0.05"} 1
atlas_signature_decision_duration_seconds_bucket{filter="other",le="+Inf"} 1
atlas_signature_decision_duration_seconds_sum{filter="other"} 0.001
atlas_signature_decision_duration_seconds_count{filter="other"} 1
`
	if err := testutil.CollectAndCompare(m.latency, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestAdapterLabelIsBounded(t *testing.T) {
	m := New()
	for i := range maxAdapters + 50 {
		a := fmt.Sprintf("adapter-%d", i)
		m.Injection(a)
		m.Decision("extproc", a, OutcomeAllowed, time.Microsecond)
	}
	if n := testutil.CollectAndCount(m.injections); n != maxAdapters+1 {
		t.Errorf("%d injection series, want %d (the limit plus %s)", n, maxAdapters+1, OtherAdapter)
	}
	if got := testutil.ToFloat64(m.injections.WithLabelValues(OtherAdapter)); got != 50 {
		t.Errorf("%s injections = %v, want 50", OtherAdapter, got)
	}
	// Known adapters keep counting under their own name.
	m.Injection("adapter-0")
	if got := testutil.ToFloat64(m.injections.WithLabelValues("adapter-0")); got != 2 {
		t.Errorf("adapter-0 injections = %v, want 2", got)
	}
}

func TestOAuthRefresh(t *testing.T) {
	m := New()
	m.OAuthRefresh("github", RefreshSuccess)
	m.OAuthRefresh("github", RefreshSuccess)
	m.OAuthRefresh("github", RefreshFailed)
	if got := testutil.ToFloat64(m.refreshes.WithLabelValues("github", RefreshSuccess)); got != 2 {
		t.Errorf("success = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.refreshes.WithLabelValues("github", RefreshFailed)); got != 1 {
		t.Errorf("failed = %v, want 1", got)
	}
}

// The request path must not allocate once a label combination is known.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m := New()
	m.Decision("extproc", "stripe", OutcomeAllowed, time.Microsecond)
	m.Injection("plain")
	if n := testing.AllocsPerRun(1000, func() {
		m.Decision("extproc", "stripe", OutcomeAllowed, 42*time.Microsecond)
		m.Injection("plain")
	}); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}

func TestMux(t *testing.T) {
	m := New()
	m.Injection("plain")
	srv := httptest.NewServer(m.Mux())
	defer srv.Close()
	for path, want := range map[string]string{
		"/metrics": `atlas_extproc_header_injections_total{adapter="plain"} 1`,
		"/healthz": "ok",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q:\n%.2000s", path, resp.StatusCode, want, b)
		}
	}
	// The Go and process collectors are registered too.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, fam := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(b), fam) {
			t.Errorf("/metrics lacks %s", fam)
		}
	}
}

func BenchmarkDecision(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Decision("extproc", "stripe", OutcomeAllowed, 42*time.Microsecond)
		}
	})
}
