package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"time"
)

// target is one row's proxy under load.
type target struct {
	row       string
	url       string
	headers   []string // fixed wrk -H values, "Name: value"; requestFor adds the rest
	appSecret string   // signing secret of signed rows
	proc      *proc    // the process whose death invalidates the row
	admin     string   // the row's Envoy admin address, for counters
	dir       string   // where the wrk Lua script goes
}

// runResult is one row in one round: the loaded wrk run (embedded) and, if
// enabled, the light-load run that follows it.
type runResult struct {
	Round    int    `json:"round"`    // 1-based
	Row      string `json:"row"`      // see allRows
	Position int    `json:"position"` // 1-based position inside the round
	wrkResult
	UpstreamOK   int64            `json:"upstream_ok"`
	Upstream401  int64            `json:"upstream_401"`
	UpstreamMism int64            `json:"upstream_mismatch"`
	Light        *wrkResult       `json:"light,omitempty"`
	EnvoyDelta   map[string]int64 `json:"envoy_counters_delta,omitempty"` // over loaded+light runs
	Valid        bool             `json:"valid"`
	Error        string           `json:"error,omitempty"`
	StartedAtUTC string           `json:"started_at"`
}

// roundOrder returns the rows in the order round r (0-based) runs them.
func roundOrder(rows []string, r int, order string, rng *rand.Rand) []string {
	out := make([]string, len(rows))
	if order == "shuffle" {
		for i, j := range rng.Perm(len(rows)) {
			out[i] = rows[j]
		}
		return out
	}
	for i := range rows {
		out[i] = rows[(r+i)%len(rows)]
	}
	return out
}

// measured is one wrk run plus what the upstream saw meanwhile.
type measured struct {
	wrk   wrkResult
	delta upstreamStats
}

// problem says why a run does not measure a working proxy: any non-2xx
// answer, any request the upstream refused for a wrong key or (on signed
// routes) a missing verified identity or altered body, or no requests at
// all. Socket errors (a stalled machine tripping wrk's timeout, say) are
// recorded and printed but do not invalidate the run by themselves.
func (m measured) problem() string {
	if m.wrk.Non2xx == 0 && m.delta.Unauthorized == 0 && m.delta.Mismatch == 0 && m.wrk.Requests > 0 {
		return ""
	}
	return fmt.Sprintf("requests=%d non-2xx=%d upstream-401=%d upstream-mismatch=%d",
		m.wrk.Requests, m.wrk.Non2xx, m.delta.Unauthorized, m.delta.Mismatch)
}

func measureOnce(ctx context.Context, wrkBin string, o *options, up *upstream, t target, conns int, d time.Duration) (measured, error) {
	var m measured
	before, err := up.stats()
	if err != nil {
		return m, fmt.Errorf("upstream stats: %w", err)
	}
	// Signed rows: the signature is made now, so it is fresh for this run.
	req := t.requestFor(time.Now())
	script, err := wrkScript(t.dir, t.row, req)
	if err != nil {
		return m, err
	}
	wr, _, err := runWrk(ctx, wrkBin, o, conns, d, req, script)
	if ctx.Err() != nil {
		return m, ctx.Err()
	}
	if t.proc != nil && t.proc.exited() {
		return m, t.proc.exitError()
	}
	if err != nil {
		// wrk itself failed (bad flags, could not connect at all): a harness
		// or setup problem, not a measurement.
		return m, fmt.Errorf("%s: %w", rowTitle(t.row), err)
	}
	after, err := up.stats()
	if err != nil {
		return m, fmt.Errorf("upstream stats: %w", err)
	}
	return measured{wrk: wr, delta: after.sub(before)}, nil
}

// runRow runs one row's loaded run and its light-load run.
func runRow(ctx context.Context, wrkBin string, o *options, up *upstream, t target) (runResult, error) {
	res := runResult{Row: t.row, StartedAtUTC: time.Now().UTC().Format(time.RFC3339)}
	statsBefore, statsErr := envoyCounters(t.admin)
	m, err := measureOnce(ctx, wrkBin, o, up, t, o.connections, o.duration)
	if err != nil {
		return res, err
	}
	res.wrkResult, res.UpstreamOK, res.Upstream401, res.UpstreamMism = m.wrk, m.delta.OK, m.delta.Unauthorized, m.delta.Mismatch
	var problems []string
	if p := m.problem(); p != "" {
		problems = append(problems, "loaded: "+p)
	}
	if o.lightConns > 0 {
		lm, err := measureOnce(ctx, wrkBin, o, up, t, o.lightConns, o.lightDur)
		if err != nil {
			return res, err
		}
		res.Light = &lm.wrk
		res.UpstreamOK += lm.delta.OK
		res.Upstream401 += lm.delta.Unauthorized
		res.UpstreamMism += lm.delta.Mismatch
		if p := lm.problem(); p != "" {
			problems = append(problems, "light: "+p)
		}
	}
	if statsErr == nil {
		if after, err := envoyCounters(t.admin); err == nil {
			res.EnvoyDelta = counterDelta(statsBefore, after)
		}
	}
	res.Valid = len(problems) == 0
	if !res.Valid {
		if e := errorCounters(res.EnvoyDelta); e != "" {
			problems = append(problems, "envoy: "+e)
		}
	}
	res.Error = strings.Join(problems, "; ")
	return res, nil
}

// runRounds warms every row up once, then runs o.rounds interleaved rounds.
func runRounds(ctx context.Context, wrkBin string, o *options, up *upstream, targets map[string]target) ([]runResult, error) {
	if o.warmup > 0 {
		for _, row := range o.rows {
			fmt.Fprintf(os.Stderr, "bench: warm-up %s (%v)\n", rowTitle(row), o.warmup.Round(time.Second))
			m, err := measureOnce(ctx, wrkBin, o, up, targets[row], o.connections, o.warmup)
			if err != nil {
				return nil, err
			}
			if p := m.problem(); p != "" {
				fmt.Fprintf(os.Stderr, "bench:   warm-up of %s was INVALID: %s\n", row, p)
			}
		}
	}
	seed := o.seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewSource(seed))
	var results []runResult
	for r := 0; r < o.rounds; r++ {
		order := roundOrder(o.rows, r, o.order, rng)
		fmt.Fprintf(os.Stderr, "bench: round %d/%d: %s\n", r+1, o.rounds, strings.Join(order, " → "))
		for i, row := range order {
			res, err := runRow(ctx, wrkBin, o, up, targets[row])
			res.Round, res.Position = r+1, i+1
			if err != nil {
				return results, err
			}
			results = append(results, res)
			if o.verbose || !res.Valid {
				line := fmt.Sprintf("bench:   %-10s %8.0f req/s  p50 %.3f ms  p99 %.3f ms", row, res.RPS, res.P50ms, res.P99ms)
				if res.Light != nil {
					line += fmt.Sprintf(" | c%d p50 %.3f ms  p99 %.3f ms", o.lightConns, res.Light.P50ms, res.Light.P99ms)
				}
				if !res.Valid {
					line += "  INVALID: " + res.Error
				}
				fmt.Fprintln(os.Stderr, line)
			}
		}
	}
	return results, nil
}
