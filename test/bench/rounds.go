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
	row     string
	url     string
	headers []string // wrk -H values, "Name: value"
	proc    *proc    // the process whose death invalidates the row
}

// runResult is one wrk run of one row in one round.
type runResult struct {
	Round    int    `json:"round"`    // 1-based
	Row      string `json:"row"`      // plain | static | extproc
	Position int    `json:"position"` // 1-based position inside the round
	wrkResult
	UpstreamOK   int64  `json:"upstream_ok"`
	Upstream401  int64  `json:"upstream_401"`
	Valid        bool   `json:"valid"`
	Error        string `json:"error,omitempty"`
	StartedAtUTC string `json:"started_at"`
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

func measureOnce(ctx context.Context, wrkBin string, o *options, up *upstream, t target, d time.Duration) (runResult, error) {
	res := runResult{Row: t.row, StartedAtUTC: time.Now().UTC().Format(time.RFC3339)}
	before, err := up.stats()
	if err != nil {
		return res, fmt.Errorf("upstream stats: %w", err)
	}
	wr, _, err := runWrk(ctx, wrkBin, o, d, t.url, t.headers)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	after, serr := up.stats()
	if serr != nil {
		return res, fmt.Errorf("upstream stats: %w", serr)
	}
	delta := after.sub(before)
	if t.proc != nil && t.proc.exited() {
		return res, t.proc.exitError()
	}
	if err != nil {
		// wrk itself failed (bad flags, could not connect at all): that is
		// a harness problem, not a measurement.
		return res, fmt.Errorf("%s: %w", rowTitle(t.row), err)
	}
	res.wrkResult, res.UpstreamOK, res.Upstream401 = wr, delta.OK, delta.Unauthorized
	res.Valid = wr.Non2xx == 0 && wr.SocketErrors == 0 && delta.Unauthorized == 0 && wr.Requests > 0
	if !res.Valid && res.Error == "" {
		res.Error = fmt.Sprintf("non-2xx=%d socket-errors=%d upstream-401=%d", wr.Non2xx, wr.SocketErrors, delta.Unauthorized)
	}
	return res, nil
}

// runRounds warms every row up once, then runs o.rounds interleaved rounds.
func runRounds(ctx context.Context, wrkBin string, o *options, up *upstream, targets map[string]target) ([]runResult, error) {
	if o.warmup > 0 {
		for _, row := range o.rows {
			fmt.Fprintf(os.Stderr, "bench: warm-up %s (%v)\n", rowTitle(row), o.warmup.Round(time.Second))
			res, err := measureOnce(ctx, wrkBin, o, up, targets[row], o.warmup)
			if err != nil {
				return nil, err
			}
			if !res.Valid {
				fmt.Fprintf(os.Stderr, "bench:   warm-up of %s was INVALID: %s\n", row, res.Error)
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
			res, err := measureOnce(ctx, wrkBin, o, up, targets[row], o.duration)
			res.Round, res.Position = r+1, i+1
			if err != nil {
				return results, err
			}
			results = append(results, res)
			if o.verbose || !res.Valid {
				status := "ok"
				if !res.Valid {
					status = "INVALID: " + res.Error
				}
				fmt.Fprintf(os.Stderr, "bench:   %-8s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  %s\n", row, res.RPS, res.P50ms, res.P99ms, status)
			}
		}
	}
	return results, nil
}
