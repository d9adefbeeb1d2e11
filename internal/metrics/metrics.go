// Package metrics is Atlas's Prometheus instrumentation: what the xDS server
// pushed and what Envoys answered, configuration reloads, signature
// decisions and their latency, ext_proc header injections and OAuth token
// refreshes.
//
// Metrics owns its own registry (plus the Go runtime and process
// collectors), so tests and several instances in one process never collide
// on the global one. It implements the small observer interfaces declared by
// internal/xds, internal/extproc and internal/extauthz; those packages never
// import this one.
//
// Labels are bounded, operator-chosen names only: node ids, adapter names,
// provider names, xDS resource kinds and fixed outcome codes. Nothing a
// request carries — user ids, account ids, paths, secrets — is ever a label.
// The request path (Decision, Injection) looks its counter up in an
// immutable map and allocates nothing.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values of atlas_config_reloads_total.
const (
	TriggerStart = "start" // the configuration read at startup
	TriggerFile  = "file"  // an edit of the -f file
	TriggerStore = "store" // a change in the store (admin API, another replica)

	ResultSuccess = "success" // applied
	ResultInvalid = "invalid" // rejected by validation; the last good configuration keeps serving
	ResultFailed  = "failed"  // valid, but translating or publishing it failed
)

// OutcomeAllowed is the outcome label of a request whose signature
// verified; a refused request is labelled with its denial code
// (signature_missing, signature_invalid, body_too_large, …).
const OutcomeAllowed = "allowed"

// Label values of atlas_oauth_refreshes_total.
const (
	RefreshSuccess = "success"
	RefreshFailed  = "failed"
)

// Filters whose decisions are measured; the values of the filter label.
var filters = []string{"extproc", "extauthz"}

// maxAdapters bounds the adapter label. Adapters come from the
// configuration, but the adapter name reaches ext_proc and ext_authz in
// request metadata; past this many distinct names, new ones are counted
// under "_other" so a misbehaving client cannot grow memory without limit.
const maxAdapters = 1000

// OtherAdapter is the adapter label value once maxAdapters is reached.
const OtherAdapter = "_other"

// Metrics is the set of Atlas metrics and the registry that exports them.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	xdsPushes    *prometheus.CounterVec
	xdsAcks      *prometheus.CounterVec
	xdsNacks     *prometheus.CounterVec
	xdsConnected prometheus.Gauge
	reloads      *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	injections   *prometheus.CounterVec
	refreshes    *prometheus.CounterVec

	// families lists the name of every metric registered above, for the
	// dashboard test; histograms are listed with their _bucket, _sum and
	// _count series.
	families []string

	decisionChildren  *children[decisionKey, prometheus.Counter]
	injectionChildren *children[string, prometheus.Counter]
	latencyChildren   map[string]prometheus.Observer
}

type decisionKey struct{ filter, adapter, outcome string }

// DecisionBuckets are the latency histogram's upper bounds in seconds: a
// decision is an HMAC over at most a few KiB, typically tens of
// microseconds; 50ms is far beyond anything but a starved process.
var DecisionBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3}

// New returns Metrics registered on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	var names []string
	f := factory{reg: reg, names: &names}
	m := &Metrics{
		reg: reg,
		xdsPushes: f.counterVec("atlas_xds_pushes_total",
			"xDS responses sent to Envoys, by node id and resource type.", "node", "type"),
		xdsAcks: f.counterVec("atlas_xds_acks_total",
			"xDS responses Envoys accepted (ACK), by node id and resource type.", "node", "type"),
		xdsNacks: f.counterVec("atlas_xds_nacks_total",
			"xDS responses Envoys rejected (NACK), by node id and resource type; Atlas logs Envoy's reason.", "node", "type"),
		xdsConnected: f.gauge("atlas_xds_connected_envoys",
			"Envoys with an open xDS stream."),
		reloads: f.counterVec("atlas_config_reloads_total",
			"Configuration loads, by trigger (start, file, store) and result (success, invalid, failed).", "trigger", "result"),
		decisions: f.counterVec("atlas_signature_decisions_total",
			"Stripe App signature checks, by filter (extproc, extauthz), adapter and outcome (allowed, or the denial code).", "filter", "adapter", "outcome"),
		latency: f.histogramVec("atlas_signature_decision_duration_seconds",
			"Time Atlas took to decide a signed request once it had what it needed (headers, or the buffered body), by filter.", DecisionBuckets, "filter"),
		injections: f.counterVec("atlas_extproc_header_injections_total",
			"Requests to unsigned adapters whose credentials ext_proc injected (--injection extproc), by adapter.", "adapter"),
		refreshes: f.counterVec("atlas_oauth_refreshes_total",
			"OAuth access token refreshes, by provider and result (success, failed).", "provider", "result"),
		latencyChildren: map[string]prometheus.Observer{},
	}
	m.families = names // after the literal: its calls fill names
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.decisionChildren = newChildren(maxAdapters*4, func(k decisionKey) prometheus.Counter {
		return m.decisions.WithLabelValues(k.filter, k.adapter, k.outcome)
	}, func(k decisionKey) decisionKey { k.adapter = OtherAdapter; return k })
	m.injectionChildren = newChildren(maxAdapters, func(adapter string) prometheus.Counter {
		return m.injections.WithLabelValues(adapter)
	}, func(string) string { return OtherAdapter })
	for _, f := range filters {
		m.latencyChildren[f] = m.latency.WithLabelValues(f)
	}
	// Every reload series exists from the start, so increase() sees the
	// first failure instead of a series appearing at 1.
	for _, t := range []string{TriggerStart, TriggerFile, TriggerStore} {
		for _, r := range []string{ResultSuccess, ResultInvalid, ResultFailed} {
			m.reloads.WithLabelValues(t, r)
		}
	}
	return m
}

// Registry is the registry every Atlas metric is registered on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Mux serves Handler on /metrics and a liveness answer on /healthz.
func (m *Metrics) Mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// XDSPush counts a response sent to node.
func (m *Metrics) XDSPush(node, typeURL string) {
	t := resourceType(typeURL)
	m.xdsPushes.WithLabelValues(node, t).Inc()
	// ACK and NACK series exist once something was pushed, so the first
	// NACK is an increase from 0 that alerts can see.
	m.xdsAcks.WithLabelValues(node, t)
	m.xdsNacks.WithLabelValues(node, t)
}

// XDSAck counts an accepted response.
func (m *Metrics) XDSAck(node, typeURL string) {
	m.xdsAcks.WithLabelValues(node, resourceType(typeURL)).Inc()
}

// XDSNack counts a rejected response.
func (m *Metrics) XDSNack(node, typeURL string) {
	m.xdsNacks.WithLabelValues(node, resourceType(typeURL)).Inc()
}

// EnvoyConnected records that node connected; connected is the number of
// Envoys now connected.
func (m *Metrics) EnvoyConnected(_ string, connected int) { m.xdsConnected.Set(float64(connected)) }

// EnvoyDisconnected records that node has no open stream any more. Its
// series are dropped: in a sidecar fleet node ids come and go with pods,
// and keeping every one ever seen would grow without bound. A node that
// comes back starts from zero, which rate() and increase() treat as a
// counter reset.
func (m *Metrics) EnvoyDisconnected(node string, connected int) {
	m.xdsConnected.Set(float64(connected))
	for _, v := range []*prometheus.CounterVec{m.xdsPushes, m.xdsAcks, m.xdsNacks} {
		v.DeletePartialMatch(prometheus.Labels{"node": node})
	}
}

// Reload counts a configuration load; see the Trigger and Result constants.
func (m *Metrics) Reload(trigger, result string) { m.reloads.WithLabelValues(trigger, result).Inc() }

// Decision counts one signature check by filter ("extproc" or "extauthz"),
// adapter and outcome (OutcomeAllowed or a denial code), and observes how
// long it took.
func (m *Metrics) Decision(filter, adapter, outcome string, took time.Duration) {
	m.decisionChildren.get(decisionKey{filter, adapter, outcome}).Inc()
	if o, ok := m.latencyChildren[filter]; ok {
		o.Observe(took.Seconds())
		return
	}
	m.latency.WithLabelValues(filter).Observe(took.Seconds())
}

// Injection counts a request whose credentials ext_proc injected.
func (m *Metrics) Injection(adapter string) { m.injectionChildren.get(adapter).Inc() }

// OAuthRefresh counts an OAuth access token refresh for provider (the
// OAuthProvider's name) with result RefreshSuccess or RefreshFailed.
func (m *Metrics) OAuthRefresh(provider, result string) {
	m.refreshes.WithLabelValues(provider, result).Inc()
}

// resourceType turns an xDS type URL into a short, bounded label value.
func resourceType(typeURL string) string {
	switch typeURL[strings.LastIndexByte(typeURL, '.')+1:] {
	case "Listener":
		return "listener"
	case "RouteConfiguration":
		return "route"
	case "ScopedRouteConfiguration":
		return "scoped_route"
	case "VirtualHost":
		return "virtual_host"
	case "Cluster":
		return "cluster"
	case "ClusterLoadAssignment":
		return "endpoint"
	case "Secret":
		return "secret"
	case "Runtime":
		return "runtime"
	case "TypedExtensionConfig":
		return "extension_config"
	}
	return "other"
}

// factory registers metrics and records their names.
type factory struct {
	reg   prometheus.Registerer
	names *[]string
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	*f.names = append(*f.names, name)
	return v
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	*f.names = append(*f.names, name)
	return g
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(v)
	*f.names = append(*f.names, name+"_bucket", name+"_sum", name+"_count")
	return v
}
