package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dashboardFile = "../../deploy/grafana/atlas-dashboard.json"

// The Grafana dashboard cannot drift from the code: every atlas_ metric its
// queries read is one Metrics registers, and every metric Metrics registers
// is on the dashboard.
func TestDashboardReadsRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Inputs []struct {
			Name, Type, PluginID string
		} `json:"__inputs"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if !slices.ContainsFunc(dash.Inputs, func(in struct{ Name, Type, PluginID string }) bool {
		return in.Name == "DS_PROMETHEUS" && in.Type == "datasource"
	}) {
		t.Errorf("no DS_PROMETHEUS datasource input")
	}

	registered := New().families
	var queries []string
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			queries = append(queries, string(v.Query))
		}
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: datasource %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: target %s has no expr", p.Title, tg.RefID)
			}
			queries = append(queries, tg.Expr)
		}
	}

	used := map[string]bool{}
	for _, q := range queries {
		for _, name := range metricName.FindAllString(q, -1) {
			used[name] = true
			if !slices.Contains(registered, name) {
				t.Errorf("the dashboard reads %s, which internal/metrics does not register (registered: %v)", name, registered)
			}
		}
	}
	for _, name := range registered {
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue // a histogram is covered by any of its series
		}
		if !used[name] && !used[name+"_bucket"] {
			t.Errorf("%s is not on the dashboard", name)
		}
	}
	if len(used) == 0 {
		t.Fatal("no metric found in the dashboard's queries")
	}
}

// metricName finds metric names in PromQL; Atlas's all start with atlas_.
var metricName = regexp.MustCompile(`\batlas_[a-z0-9_]+`)

type dashPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// The families list matches what the registry actually exports.
func TestFamiliesAreGathered(t *testing.T) {
	m := New()
	m.XDSPush("n", listenerURL)
	m.EnvoyConnected("n", 1)
	m.Decision("extproc", "a", OutcomeAllowed, 0)
	m.Injection("a")
	m.OAuthRefresh("p", RefreshSuccess)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var gathered []string
	for _, f := range fams {
		name := f.GetName()
		if !strings.HasPrefix(name, "atlas_") {
			continue
		}
		if f.GetType().String() == "HISTOGRAM" {
			gathered = append(gathered, name+"_bucket", name+"_sum", name+"_count")
			continue
		}
		gathered = append(gathered, name)
	}
	slices.Sort(gathered)
	want := slices.Clone(m.families)
	slices.Sort(want)
	if !slices.Equal(gathered, want) {
		t.Errorf("gathered %v\nfamilies %v", gathered, want)
	}
}
