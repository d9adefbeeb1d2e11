package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// Targets from the benchmark sections of the design issues: static
// injection ≥ 0.95× plain Envoy; ext_proc injection (#2) and signature
// verification (#3) ≥ 0.6× and at most +0.3 ms at p50.
const (
	targetStaticRatio   = 0.95
	targetExtprocRatio  = 0.60
	targetExtprocAddP50 = 0.30 // ms
	targetReloadP50     = 250  // ms
)

// rowTargets are the rows with an extra-hop target (ratio and added p50).
var rowTargets = []string{rowExtproc, rowSigGet, rowSigPost, rowAuthzGet, rowAuthzPost}

// rowSummary aggregates one row over all rounds.
type rowSummary struct {
	Row        string    `json:"row"`
	Title      string    `json:"title"`
	Runs       int       `json:"runs"`
	ValidRuns  int       `json:"valid_runs"`
	MedianRPS  float64   `json:"median_rps"`
	MinRPS     float64   `json:"min_rps"`
	MaxRPS     float64   `json:"max_rps"`
	MedianP50  float64   `json:"median_p50_ms"`
	MedianP99  float64   `json:"median_p99_ms"`
	Ratio      *float64  `json:"median_ratio_vs_plain,omitempty"`        // median over rounds of rps/plain rps (same round)
	AddedP50   *float64  `json:"median_added_p50_ms_vs_plain,omitempty"` // median over rounds of p50 - plain p50
	AddedP99   *float64  `json:"median_added_p99_ms_vs_plain,omitempty"` // median over rounds of p99 - plain p99
	RatioRange []float64 `json:"ratio_min_max,omitempty"`

	// Light-load run (--light-connections): latency without queueing.
	LightP50      *float64 `json:"light_median_p50_ms,omitempty"`
	LightP99      *float64 `json:"light_median_p99_ms,omitempty"`
	LightAddedP50 *float64 `json:"light_median_added_p50_ms_vs_plain,omitempty"`
	LightAddedP99 *float64 `json:"light_median_added_p99_ms_vs_plain,omitempty"`
}

type reloadSummary struct {
	Count    int                `json:"count"`
	Failures int                `json:"failures"`
	P50ms    float64            `json:"p50_ms"`
	P90ms    float64            `json:"p90_ms"`
	MaxMs    float64            `json:"max_ms"`
	ByWrite  map[string]float64 `json:"p50_ms_by_write"`
}

type targetCheck struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Status string  `json:"status"` // PASS | MISS | INVALID
	// OnNumbers is PASS or MISS from the numbers alone, also when Status is
	// INVALID because some run had failed requests.
	OnNumbers string `json:"on_numbers"`
}

// median of xs (mean of the two middle values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile by nearest rank: the smallest value with at least p of the
// samples at or below it.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	if k < 0 {
		k = 0
	}
	return s[k]
}

func medianPtr(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	m := median(xs)
	return &m
}

func minMax(xs []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func summarize(rows []string, runs []runResult) []rowSummary {
	plainByRound := map[int]runResult{}
	for _, r := range runs {
		if r.Row == rowPlain {
			plainByRound[r.Round] = r
		}
	}
	var out []rowSummary
	for _, row := range rows {
		s := rowSummary{Row: row, Title: rowTitle(row)}
		var rps, p50, p99, ratios, added, added99, lp50, lp99, ladded, ladded99 []float64
		for _, r := range runs {
			if r.Row != row {
				continue
			}
			s.Runs++
			if r.Valid {
				s.ValidRuns++
			}
			rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50ms), append(p99, r.P99ms)
			base, haveBase := plainByRound[r.Round]
			if haveBase && base.RPS > 0 {
				ratios = append(ratios, r.RPS/base.RPS)
				added = append(added, r.P50ms-base.P50ms)
				added99 = append(added99, r.P99ms-base.P99ms)
			}
			if r.Light != nil {
				lp50, lp99 = append(lp50, r.Light.P50ms), append(lp99, r.Light.P99ms)
				if haveBase && base.Light != nil {
					ladded = append(ladded, r.Light.P50ms-base.Light.P50ms)
					ladded99 = append(ladded99, r.Light.P99ms-base.Light.P99ms)
				}
			}
		}
		if s.Runs == 0 {
			continue
		}
		s.MedianRPS, s.MedianP50, s.MedianP99 = median(rps), median(p50), median(p99)
		s.MinRPS, s.MaxRPS = minMax(rps)
		if len(ratios) > 0 {
			ratio, add := median(ratios), median(added)
			lo, hi := minMax(ratios)
			s.Ratio, s.AddedP50, s.RatioRange = &ratio, &add, []float64{lo, hi}
			s.AddedP99 = medianPtr(added99)
		}
		s.LightP50, s.LightP99 = medianPtr(lp50), medianPtr(lp99)
		s.LightAddedP50, s.LightAddedP99 = medianPtr(ladded), medianPtr(ladded99)
		out = append(out, s)
	}
	return out
}

func summarizeReloads(samples []reloadSample, timeoutMs float64) *reloadSummary {
	if len(samples) == 0 {
		return nil
	}
	rs := &reloadSummary{Count: len(samples), ByWrite: map[string]float64{}}
	var all []float64
	byWrite := map[string][]float64{}
	for _, s := range samples {
		v := s.Ms
		if s.Error != "" {
			rs.Failures++
			v = math.Max(v, timeoutMs) // a timed-out reload counts as at least the timeout
		}
		all = append(all, v)
		byWrite[s.Write] = append(byWrite[s.Write], v)
	}
	rs.P50ms, rs.P90ms = percentile(all, 0.5), percentile(all, 0.9)
	_, rs.MaxMs = minMax(all)
	for w, xs := range byWrite {
		rs.ByWrite[w] = percentile(xs, 0.5)
	}
	return rs
}

func check(name string, value float64, unit, target string, ok, valid bool) targetCheck {
	c := targetCheck{Name: name, Value: value, Unit: unit, Target: target, OnNumbers: "MISS"}
	if ok {
		c.OnNumbers = "PASS"
	}
	c.Status = c.OnNumbers
	if !valid {
		c.Status = "INVALID"
	}
	return c
}

func checkTargets(sums []rowSummary, rel *reloadSummary) []targetCheck {
	by := map[string]rowSummary{}
	for _, s := range sums {
		by[s.Row] = s
	}
	plain, havePlain := by[rowPlain]
	plainValid := havePlain && plain.ValidRuns == plain.Runs
	var out []targetCheck
	if s, ok := by[rowStatic]; ok && s.Ratio != nil {
		out = append(out, check("(2) static throughput vs (1)", *s.Ratio, "×", fmt.Sprintf("≥ %.2f×", targetStaticRatio),
			*s.Ratio >= targetStaticRatio, plainValid && s.ValidRuns == s.Runs))
	}
	for _, row := range rowTargets {
		s, ok := by[row]
		if !ok || s.Ratio == nil {
			continue
		}
		valid := plainValid && s.ValidRuns == s.Runs
		out = append(out,
			check(s.Title+" throughput vs (1)", *s.Ratio, "×", fmt.Sprintf("≥ %.2f×", targetExtprocRatio),
				*s.Ratio >= targetExtprocRatio, valid),
			check(s.Title+" added p50 vs (1), loaded", *s.AddedP50, "ms", fmt.Sprintf("≤ +%.2f ms", targetExtprocAddP50),
				*s.AddedP50 <= targetExtprocAddP50, valid))
		if s.LightAddedP50 != nil {
			out = append(out, check(s.Title+" added p50 vs (1), light load", *s.LightAddedP50, "ms", fmt.Sprintf("≤ +%.2f ms", targetExtprocAddP50),
				*s.LightAddedP50 <= targetExtprocAddP50, valid))
		}
	}
	if rel != nil {
		out = append(out, check("reload p50 (file saved → new route 200)", rel.P50ms, "ms", fmt.Sprintf("≤ %d ms", targetReloadP50),
			rel.P50ms <= targetReloadP50, rel.Failures*2 < rel.Count))
	}
	return out
}

func fmtOpt(v *float64, format string) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf(format, *v)
}

// printMarkdown writes the human report.
func printMarkdown(w io.Writer, o *options, machine map[string]any, sums []rowSummary, runs []runResult, rel *reloadSummary, checks []targetCheck) {
	fmt.Fprintf(w, "\nMachine: %v CPUs, load average (1/5/15 min) %v at start, %v at end; %v\n",
		machine["cpus"], firstFields(machine["loadavg_start"], 3), firstFields(machine["loadavg_end"], 3), machine["envoy_version"])
	if len(sums) > 0 {
		fmt.Fprintf(w, "\n### Throughput and latency (wrk -t%d -c%d -d%v, %d rounds interleaved, medians)\n\n",
			o.threads, o.connections, o.duration, o.rounds)
		fmt.Fprintln(w, "| Row | req/s | req/s min–max | p50 ms | p99 ms | req/s × (1) | p50 added vs (1) | p99 added vs (1) | valid runs |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, s := range sums {
			ratio, added, added99 := fmtOpt(s.Ratio, "%.2f×"), fmtOpt(s.AddedP50, "%+.3f ms"), fmtOpt(s.AddedP99, "%+.3f ms")
			if s.Row == rowPlain {
				ratio, added, added99 = "1.00× (base)", "—", "—"
			} else if s.RatioRange != nil {
				ratio += fmt.Sprintf(" (%.2f–%.2f)", s.RatioRange[0], s.RatioRange[1])
			}
			valid := fmt.Sprintf("%d/%d", s.ValidRuns, s.Runs)
			if s.ValidRuns != s.Runs {
				valid += " **INVALID**"
			}
			fmt.Fprintf(w, "| %s | %.0f | %.0f–%.0f | %.3f | %.3f | %s | %s | %s | %s |\n",
				s.Title, s.MedianRPS, s.MinRPS, s.MaxRPS, s.MedianP50, s.MedianP99, ratio, added, added99, valid)
		}
		if o.lightConns > 0 {
			fmt.Fprintf(w, "\n### Light load (wrk -t1 -c%d -d%v after each loaded run: latency without queueing, medians)\n\n", o.lightConns, o.lightDur)
			fmt.Fprintln(w, "| Row | p50 ms | p99 ms | p50 added vs (1) | p99 added vs (1) |")
			fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
			for _, s := range sums {
				added, added99 := fmtOpt(s.LightAddedP50, "%+.3f ms"), fmtOpt(s.LightAddedP99, "%+.3f ms")
				if s.Row == rowPlain {
					added, added99 = "—", "—"
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", s.Title, fmtOpt(s.LightP50, "%.3f"), fmtOpt(s.LightP99, "%.3f"), added, added99)
			}
		}
		for _, r := range runs {
			if !r.Valid {
				fmt.Fprintf(w, "\n- round %d, %s: invalid run: %s", r.Round, rowTitle(r.Row), r.Error)
			}
			if r.SocketErrors > 0 {
				fmt.Fprintf(w, "\n- round %d, %s: loaded run had wrk socket errors (%s) of %d requests", r.Round, rowTitle(r.Row), r.SocketDetail, r.Requests)
			}
			if r.Light != nil && r.Light.SocketErrors > 0 {
				fmt.Fprintf(w, "\n- round %d, %s: light run had wrk socket errors (%s) of %d requests", r.Round, rowTitle(r.Row), r.Light.SocketDetail, r.Light.Requests)
			}
		}
		fmt.Fprintln(w)
	}
	if rel != nil {
		fmt.Fprintf(w, "\n### Reload latency (file saved → GET /v1/apis/http/reloadN/… first answers 200; poll every %v)\n\n", o.reloadPoll)
		fmt.Fprintln(w, "| reloads | p50 ms | p90 ms | max ms | p50 rename | p50 in-place | failures |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
		fmt.Fprintf(w, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %d |\n",
			rel.Count, rel.P50ms, rel.P90ms, rel.MaxMs, rel.ByWrite["rename"], rel.ByWrite["in-place"], rel.Failures)
	}
	if len(checks) > 0 {
		fmt.Fprintln(w, "\n### Targets (informational, not asserted)")
		fmt.Fprintln(w)
		for _, c := range checks {
			val := fmt.Sprintf("%.2f%s", c.Value, c.Unit)
			if c.Unit == "ms" {
				val = fmt.Sprintf("%.3g ms", c.Value)
				if strings.Contains(c.Target, "+") {
					val = fmt.Sprintf("%+.3f ms", c.Value)
				}
			}
			st := "**" + c.Status + "**"
			if c.Status != c.OnNumbers {
				st += " (numbers alone: " + c.OnNumbers + ")"
			}
			fmt.Fprintf(w, "- %s: %s (target %s) %s\n", c.Name, val, c.Target, st)
		}
	}
}

func firstFields(v any, n int) string {
	s, _ := v.(string)
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// report is the JSON document written to --out.
type report struct {
	StartedAt string         `json:"started_at"`
	Machine   map[string]any `json:"machine"`
	Options   map[string]any `json:"options"`
	Runs      []runResult    `json:"runs"`
	Summary   []rowSummary   `json:"summary"`
	Reloads   []reloadSample `json:"reloads,omitempty"`
	Reload    *reloadSummary `json:"reload_summary,omitempty"`
	Targets   []targetCheck  `json:"targets"`
	Aborted   string         `json:"aborted,omitempty"`
}

func writeJSON(path string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
