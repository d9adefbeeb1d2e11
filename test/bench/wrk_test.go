package main

import (
	"math"
	"strings"
	"testing"
)

const wrkOK = `Running 5s test @ http://127.0.0.1:18082/v1/apis/http/up/v1/charges
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   652.31us  301.12us  12.04ms   91.20%
    Req/Sec    24.81k     1.20k   26.90k    78.00%
  Latency Distribution
     50%  598.00us
     75%  701.00us
     90%  850.00us
     99%    1.92ms
  123456 requests in 5.00s, 40.12MB read
Requests/sec:  24691.20
Transfer/sec:      8.02MB
`

const wrkErrors = `Running 2s test @ http://127.0.0.1:18999/nonexist
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.22ms    2.77ms  25.23ms   80.29%
    Req/Sec     0.98k   253.31     1.54k    75.00%
  Latency Distribution
     50%    3.30ms
     75%    5.47ms
     90%    7.77ms
     99%     1.02s
  1960 requests in 2.00s, 0.97MB read
  Socket errors: connect 0, read 3, write 1, timeout 12
  Non-2xx or 3xx responses: 1960
Requests/sec:    977.76
Transfer/sec:    496.52KB`

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParseWrkOK(t *testing.T) {
	r, err := parseWrk(wrkOK)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.RPS, 24691.20) || r.Requests != 123456 {
		t.Errorf("rps=%v requests=%v", r.RPS, r.Requests)
	}
	if !near(r.P50ms, 0.598) || !near(r.P75ms, 0.701) || !near(r.P90ms, 0.85) || !near(r.P99ms, 1.92) {
		t.Errorf("latencies: %+v", r)
	}
	if r.Non2xx != 0 || r.SocketErrors != 0 {
		t.Errorf("errors: %+v", r)
	}
}

func TestParseWrkErrors(t *testing.T) {
	r, err := parseWrk(wrkErrors)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.RPS, 977.76) || r.Non2xx != 1960 || r.SocketErrors != 16 || r.SocketDetail != "connect 0, read 3, write 1, timeout 12" {
		t.Errorf("got %+v", r)
	}
	if !near(r.P50ms, 3.3) || !near(r.P99ms, 1020) {
		t.Errorf("latencies: %+v", r)
	}
}

func TestParseWrkMissingLatency(t *testing.T) {
	// Output of a run without --latency must be rejected, not read as zeros.
	noDist := strings.Replace(wrkOK, "  Latency Distribution\n", "", 1)
	noDist = strings.Replace(noDist, "     50%  598.00us\n", "", 1)
	if _, err := parseWrk(noDist); err == nil {
		t.Error("want error without the 50% line")
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("want error for a failed run")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]float64{"250.00us": 0.25, "2.10ms": 2.1, "1.50s": 1500, "2.00m": 120000, "1.00h": 3600000} {
		got, err := parseWrkDuration(in)
		if err != nil || !near(got, want) {
			t.Errorf("%s: got %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWrkDuration("12.0xs"); err == nil {
		t.Error("want error for unknown unit")
	}
}
