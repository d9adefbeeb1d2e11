package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what we keep from one `wrk --latency` run.
type wrkResult struct {
	Requests     int64   `json:"requests"`
	RPS          float64 `json:"rps"`
	P50ms        float64 `json:"p50_ms"`
	P75ms        float64 `json:"p75_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	Non2xx       int64   `json:"non_2xx_3xx"`
	SocketErrors int64   `json:"socket_errors"`
	// SocketDetail is wrk's breakdown, e.g. "connect 0, read 1, write 0, timeout 0".
	SocketDetail string `json:"socket_errors_detail,omitempty"`
}

func findWrk() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", fmt.Errorf("wrk not found on PATH: `make bench` installs it (apt-get install -y wrk), or install it yourself")
	}
	return p, nil
}

// runWrk runs one wrk load sending req and parses its output. script, when
// not "", is the Lua file that sets req's method and body (wrkScript).
func runWrk(ctx context.Context, wrkBin string, o *options, conns int, d time.Duration, req reqSpec, script string) (wrkResult, string, error) {
	args := []string{"--latency",
		"-t", strconv.Itoa(min(o.threads, conns)),
		"-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second)),
		"--timeout", fmt.Sprintf("%ds", max(1, int(o.wrkTimeout.Round(time.Second)/time.Second))), // wrk takes whole s/m/h
	}
	for _, h := range req.headers {
		args = append(args, "-H", h)
	}
	if script != "" {
		args = append(args, "-s", script)
	}
	args = append(args, req.url)
	// Bound the run in case wrk hangs; ctx cancellation (Ctrl-C) kills it.
	cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, wrkBin, args...).CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return wrkResult{}, string(out), ctx.Err()
		}
		return wrkResult{}, string(out), fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(string(out))
	return r, string(out), err
}

// parseWrk reads the text wrk prints with --latency:
//
//	  Latency Distribution
//	     50%  512.00us
//	     99%    2.10ms
//	  123456 requests in 5.00s, 40.00MB read
//	  Socket errors: connect 0, read 1, write 0, timeout 0
//	  Non-2xx or 3xx responses: 17
//	Requests/sec:  24691.20
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveP50, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	inDist := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case line == "Latency Distribution":
			inDist = true
			continue
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			ms, err := parseWrkDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("latency %q: %w", line, err)
			}
			switch f[0] {
			case "50%":
				r.P50ms, haveP50 = ms, true
			case "75%":
				r.P75ms = ms
			case "90%":
				r.P90ms = ms
			case "99%":
				r.P99ms, haveP99 = ms, true
			}
			continue
		}
		inDist = false
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("requests/sec %q: %w", line, err)
			}
			r.RPS, haveRPS = v, true
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			v, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("request count %q: %w", line, err)
			}
			r.Requests = v
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			v, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("non-2xx %q: %w", line, err)
			}
			r.Non2xx = v
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 1, write 0, timeout 0"
			r.SocketDetail = strings.TrimSpace(strings.TrimPrefix(line, "Socket errors:"))
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("socket errors %q: %w", line, err)
				}
				r.SocketErrors += v
			}
		}
	}
	if !haveRPS || !haveP50 || !haveP99 {
		return r, fmt.Errorf("wrk output lacks Requests/sec or the 50%%/99%% latency lines (was --latency passed?):\n%s", out)
	}
	return r, nil
}

// parseWrkDuration converts wrk's "512.00us", "2.10ms", "1.02s", "1.50m",
// "1.00h" to milliseconds.
func parseWrkDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}}
	for _, u := range units { // "us" and "ms" before "s"
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, err
			}
			return v * u.ms, nil
		}
	}
	return 0, fmt.Errorf("unknown unit in %q", s)
}
