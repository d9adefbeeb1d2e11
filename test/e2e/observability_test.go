package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue #6's acceptance: after a few proxied requests, including denied
// ones, the metrics address shows xDS, reload, decision, latency and
// injection metrics with the right labels and counts, and no label holds an
// id or a secret; the audit log holds exactly one line per signed request,
// with the verified identity and no secret, signature, body or query string.
func TestObservability(t *testing.T) {
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) { testObservability(t, filter) })
	}
}

const (
	obsBodyMarker  = "OBSBODYMARKER_e2e"
	obsQueryToken  = "OBSQUERYTOKEN_e2e"
	obsClaimedUser = "usr_obsClaimedNotVerified"
)

func testObservability(t *testing.T, filter string) {
	up := startRecorder(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	config := signedConfig(up.port(), "STRIPE_APP_SECRET")
	a := startAtlas(t, config, signedEnv, "--signature-filter", filter, "--injection", "extproc",
		"--metrics-address", metricsAddr, "--audit-log", auditPath)
	a.waitStatus("/v1/apis/http/plain/ready", 200)

	user := `{"user_id":"usr_obs","account_id":"acct_obs"}`
	claimed := `{"user_id":"` + obsClaimedUser + `","account_id":"acct_obsClaimed"}`
	body := `{"note":"` + obsBodyMarker + `","user_id":"usr_obs","account_id":"acct_obs"}`
	big := `{"user_id":"usr_obs","account_id":"acct_obs","pad":"` + strings.Repeat("x", 5000) + `"}`
	signed := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		adapter, outcome         string
	}{
		{"GET allowed", "GET", "/v1/apis/http/stripe/v1/customers?limit=3&token=" + obsQueryToken, "",
			[]string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user}, 200, "stripe", "allowed"},
		{"POST allowed", "POST", "/v1/apis/http/backend/orders", body,
			[]string{"Stripe-Signature", signNow(body, appSecret), "Content-Type", "application/json"}, 200, "backend", "allowed"},
		{"wrong secret", "GET", "/v1/apis/http/stripe/v1/customers", "",
			[]string{"Stripe-Signature", signNow(claimed, "absec_e2eNotTheSecret000000000000"), "Stripe-User", claimed}, 401, "stripe", "signature_invalid"},
		{"no signature", "GET", "/v1/apis/http/backend/orders", "",
			[]string{"Stripe-User-Id", obsClaimedUser, "Stripe-Account-Id", "acct_obsClaimed"}, 401, "backend", "signature_missing"},
		{"body too large", "POST", "/v1/apis/http/backend/orders", big,
			[]string{"Stripe-Signature", signNow(big, appSecret), "Content-Type", "application/json"}, 413, "backend", "body_too_large"},
	}
	for _, r := range signed {
		resp, rb, err := a.do(r.method, r.path, strings.NewReader(r.body), r.hdr...)
		if err != nil || resp.StatusCode != r.status {
			t.Fatalf("%s: status %v err %v body %s, want %d", r.name, resp.StatusCode, err, rb, r.status)
		}
	}
	const plainRequests = 3
	for range plainRequests {
		if resp, _, err := a.do("GET", "/v1/apis/http/plain/x", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("plain adapter: %v %v", resp.StatusCode, err)
		}
	}

	// Metrics.
	raw, samples := scrapeMetrics(t, metricsAddr)
	for _, r := range signed {
		want := metricSeries{"atlas_signature_decisions_total", map[string]string{"filter": filter, "adapter": r.adapter, "outcome": r.outcome}}
		if got := samples.value(t, want); got != 1 {
			t.Errorf("%s = %v, want 1", want, got)
		}
	}
	if got := samples.sum("atlas_signature_decisions_total", nil); got != float64(len(signed)) {
		t.Errorf("%v signature decisions in all, want %d", got, len(signed))
	}
	if got := samples.value(t, metricSeries{"atlas_signature_decision_duration_seconds_count", map[string]string{"filter": filter}}); got != float64(len(signed)) {
		t.Errorf("latency histogram count %v, want %d", got, len(signed))
	}
	if got := samples.value(t, metricSeries{"atlas_signature_decision_duration_seconds_bucket", map[string]string{"filter": filter, "le": "+Inf"}}); got != float64(len(signed)) {
		t.Errorf("latency +Inf bucket %v, want %d", got, len(signed))
	}
	// waitStatus's successful request and the plain ones above; retries
	// before Envoy was ready may add more.
	if got := samples.value(t, metricSeries{"atlas_extproc_header_injections_total", map[string]string{"adapter": "plain"}}); got < plainRequests+1 {
		t.Errorf("injections for plain = %v, want >= %d", got, plainRequests+1)
	}
	if got := samples.value(t, metricSeries{"atlas_xds_connected_envoys", nil}); got != 1 {
		t.Errorf("connected Envoys = %v, want 1", got)
	}
	node := map[string]string{"node": "atlas-managed"}
	for _, typ := range []string{"listener", "route", "cluster"} {
		l := map[string]string{"node": "atlas-managed", "type": typ}
		if got := samples.value(t, metricSeries{"atlas_xds_pushes_total", l}); got < 1 {
			t.Errorf("%s pushes = %v, want >= 1", typ, got)
		}
		if got := samples.value(t, metricSeries{"atlas_xds_acks_total", l}); got < 1 {
			t.Errorf("%s ACKs = %v, want >= 1", typ, got)
		}
		if got := samples.value(t, metricSeries{"atlas_xds_nacks_total", l}); got != 0 {
			t.Errorf("%s NACKs = %v, want 0", typ, got)
		}
	}
	if got := samples.sum("atlas_xds_pushes_total", node); got < 3 {
		t.Errorf("pushes to atlas-managed = %v", got)
	}
	if got := samples.value(t, metricSeries{"atlas_config_reloads_total", map[string]string{"trigger": "start", "result": "success"}}); got != 1 {
		t.Errorf("start reloads = %v, want 1", got)
	}
	for _, fam := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if samples.sum(fam, nil) == 0 {
			t.Errorf("no %s", fam)
		}
	}
	// No id, secret or path in any label, or anywhere on the page.
	for _, s := range samples {
		for k, v := range s.labels {
			if strings.Contains(v, "usr_") || strings.Contains(v, "acct_") || strings.Contains(v, "/") {
				t.Errorf("%s: label %s=%q holds an id or a path", s.name, k, v)
			}
		}
	}
	for _, secret := range []string{appSecret, appSecretPrev, stripeKey, "backend-key-e2e", "plain-key", obsQueryToken, obsBodyMarker, "usr_obs", "acct_obs"} {
		if strings.Contains(raw, secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}

	// Audit log: one line per signed request, in order, none for plain ones.
	lines := readAuditLines(t, auditPath)
	if len(lines) != len(signed) {
		t.Fatalf("%d audit lines, want %d (one per signed request):\n%s", len(lines), len(signed), readTextFile(t, auditPath))
	}
	for i, r := range signed {
		l := lines[i]
		decision, reason := "allow", "verified"
		if r.outcome != "allowed" {
			decision, reason = "deny", r.outcome
		}
		wantPath, _, _ := strings.Cut(r.path, "?")
		for k, want := range map[string]string{"msg": "signature check", "filter": filter, "adapter": r.adapter, "method": r.method,
			"path": wantPath, "decision": decision, "reason": reason} {
			if got, _ := l[k].(string); got != want {
				t.Errorf("%s: audit %s = %q, want %q", r.name, k, got, want)
			}
		}
		if ts, _ := l["time"].(string); ts == "" {
			t.Errorf("%s: audit line has no time", r.name)
		}
		if id, _ := l["request_id"].(string); id == "" {
			t.Errorf("%s: audit line has no request_id (Envoy's x-request-id)", r.name)
		}
		if decision == "allow" {
			if l["account"] != "acct_obs" || l["user"] != "usr_obs" {
				t.Errorf("%s: verified identity %v/%v, want acct_obs/usr_obs", r.name, l["account"], l["user"])
			}
		} else if _, ok := l["user"]; ok {
			t.Errorf("%s: a refused request names a user: %v", r.name, l)
		}
	}
	file := readTextFile(t, auditPath)
	t.Logf("audit log:\n%s", file)
	for _, leak := range []string{appSecret, appSecretPrev, stripeKey, "backend-key-e2e", "plain-key", obsBodyMarker, obsQueryToken,
		obsClaimedUser, "acct_obsClaimed", "v1=", "xxxxxxxx", "Stripe-Signature", "stripe-signature"} {
		if strings.Contains(file, leak) {
			t.Errorf("audit log contains %q:\n%s", leak, file)
		}
	}
	if st, err := os.Stat(auditPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v (err %v), want 0600", st.Mode().Perm(), err)
	}

	// Reloads: a broken edit is counted as invalid, the fix as a success.
	a.writeConfig("kind: [this is not valid\n")
	waitForMetric(t, metricsAddr, metricSeries{"atlas_config_reloads_total", map[string]string{"trigger": "file", "result": "invalid"}}, func(v float64) bool { return v >= 1 })
	a.writeConfig(config)
	waitForMetric(t, metricsAddr, metricSeries{"atlas_config_reloads_total", map[string]string{"trigger": "file", "result": "success"}}, func(v float64) bool { return v >= 1 })
}

// metricSeries is one exposition line: a metric name and its labels.
type metricSeries struct {
	name   string
	labels map[string]string
}

func (s metricSeries) String() string { return fmt.Sprintf("%s%v", s.name, s.labels) }

type obsScrape []struct {
	metricSeries
	value float64
}

// matches reports whether s has every label of want (want may omit some).
func (s metricSeries) matches(name string, want map[string]string) bool {
	if s.name != name {
		return false
	}
	for k, v := range want {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

// value is the value of the one series named by want, with exactly its labels.
func (ss obsScrape) value(t *testing.T, want metricSeries) float64 {
	t.Helper()
	for _, s := range ss {
		if s.matches(want.name, want.labels) && len(s.labels) == len(want.labels) {
			return s.value
		}
	}
	t.Errorf("no series %s on /metrics", want)
	return -1
}

// sum adds every series of name that has the given labels.
func (ss obsScrape) sum(name string, labels map[string]string) float64 {
	var total float64
	for _, s := range ss {
		if s.matches(name, labels) {
			total += s.value
		}
	}
	return total
}

var (
	obsSampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	obsLabelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads the text exposition format from the metrics address.
func scrapeMetrics(t *testing.T, addr string) (string, obsScrape) {
	t.Helper()
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	var out obsScrape
	for _, line := range strings.Split(string(b), "\n") {
		m := obsSampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("bad metricSeries %q: %v", line, err)
		}
		s := metricSeries{name: m[1], labels: map[string]string{}}
		for _, p := range obsLabelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, struct {
			metricSeries
			value float64
		}{s, v})
	}
	return string(b), out
}

func waitForMetric(t *testing.T, addr string, want metricSeries, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last float64
	for time.Now().Before(deadline) {
		_, ss := scrapeMetrics(t, addr)
		last = ss.sum(want.name, want.labels)
		if ok(last) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s stayed at %v for 20s", want, last)
}

func readAuditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(readTextFile(t, path)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON (%v): %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func readTextFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
