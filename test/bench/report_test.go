package main

import (
	"math"
	"testing"
)

func TestMedianPercentile(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("empty median should be NaN")
	}
	xs := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	if p := percentile(xs, 0.5); p != 50 {
		t.Errorf("p50 %v", p)
	}
	if p := percentile(xs, 0.9); p != 90 {
		t.Errorf("p90 %v", p)
	}
}

// Ratios are taken within a round, then the median is taken: a slow round
// that slows every row alike must not move the ratio.
func TestSummarizeRatiosPerRound(t *testing.T) {
	run := func(round int, row string, rps, p50 float64) runResult {
		return runResult{Round: round, Row: row, Valid: true, wrkResult: wrkResult{RPS: rps, P50ms: p50, P99ms: 2 * p50}}
	}
	runs := []runResult{
		run(1, rowPlain, 10000, 1.0), run(1, rowStatic, 9000, 1.1),
		run(2, rowPlain, 2000, 5.0), run(2, rowStatic, 1800, 5.5), // noisy round: both slow
		run(3, rowPlain, 8000, 1.2), run(3, rowStatic, 7200, 1.3),
	}
	sums := summarize([]string{rowPlain, rowStatic}, runs)
	if len(sums) != 2 {
		t.Fatalf("got %d rows", len(sums))
	}
	st := sums[1]
	if st.Ratio == nil || math.Abs(*st.Ratio-0.9) > 1e-9 {
		t.Errorf("ratio %v, want 0.9 in every round", st.Ratio)
	}
	if math.Abs(*st.AddedP50-0.1) > 1e-9 {
		t.Errorf("added p50 %v, want median of 0.1, 0.5, 0.1", *st.AddedP50)
	}
	if st.MedianRPS != 7200 || st.MinRPS != 1800 || st.MaxRPS != 9000 {
		t.Errorf("rps median/min/max %v %v %v", st.MedianRPS, st.MinRPS, st.MaxRPS)
	}
	checks := checkTargets(sums, nil)
	if len(checks) != 1 || checks[0].Status != "MISS" {
		t.Errorf("checks %+v", checks)
	}
	// An invalid run anywhere in the row makes its target INVALID, not PASS/MISS.
	runs[1].Valid = false
	checks = checkTargets(summarize([]string{rowPlain, rowStatic}, runs), nil)
	if checks[0].Status != "INVALID" {
		t.Errorf("want INVALID, got %+v", checks[0])
	}
}

func TestSummarizeReloads(t *testing.T) {
	var s []reloadSample
	for i := 1; i <= 10; i++ {
		w := "rename"
		if i%2 == 0 {
			w = "in-place"
		}
		s = append(s, reloadSample{N: i, Write: w, Ms: float64(i * 10)})
	}
	s[9].Error, s[9].Ms = "timeout", 10000
	r := summarizeReloads(s, 10000)
	if r.P50ms != 50 || r.P90ms != 90 || r.MaxMs != 10000 || r.Failures != 1 {
		t.Errorf("%+v", r)
	}
}
