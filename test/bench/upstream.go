package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// The upstream runs as a subprocess of this same binary (--upstream-child)
// with a small GOMAXPROCS, so its CPU use is bounded and visible as its own
// process, instead of competing with the harness's goroutines.

const statsPath = "/__bench/stats"

// upstreamBody is the ~200-byte JSON answer (shaped like a Stripe list).
var upstreamBody = []byte(`{"object":"list","url":"/v1/charges","has_more":false,"data":[{"id":"ch_3Bench000000000000000000","object":"charge","amount":2000,"currency":"usd","status":"succeeded","livemode":false,"paid":true}]}` + "\n")

// upstreamStats are cumulative counters served at statsPath.
type upstreamStats struct {
	OK           int64 `json:"ok"`
	Unauthorized int64 `json:"unauthorized"`
}

func (s upstreamStats) sub(o upstreamStats) upstreamStats {
	return upstreamStats{OK: s.OK - o.OK, Unauthorized: s.Unauthorized - o.Unauthorized}
}

// runUpstreamChild serves until SIGTERM/SIGINT (the default action ends it).
func runUpstreamChild(listen, key string) error {
	want := "Bearer " + key
	var ok, unauth atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc(statsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(upstreamStats{OK: ok.Load(), Unauthorized: unauth.Load()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Exactly one Authorization header with the expected value: this is
		// what proves the proxy injected (and did not duplicate) the key.
		if v := r.Header.Values("Authorization"); len(v) != 1 || v[0] != want {
			unauth.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}` + "\n"))
			return
		}
		ok.Add(1)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(upstreamBody)))
		_, _ = w.Write(upstreamBody)
	})
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

type upstream struct {
	proc *proc
	addr string // host:port
}

func startUpstream(ctx context.Context, o *options, dir, key string, port int) (*upstream, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc("upstream", filepath.Join(dir, "upstream.log"),
		[]string{"GOMAXPROCS=" + strconv.Itoa(o.upstreamProcs)},
		self, "--upstream-child", "--upstream-listen", addr, "--upstream-key", key)
	if err != nil {
		return nil, err
	}
	u := &upstream{proc: p, addr: addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := u.stats(); err == nil {
			return u, nil
		}
		if p.exited() {
			return u, p.exitError()
		}
		if time.Now().After(deadline) {
			return u, fmt.Errorf("upstream did not come up on %s; log:\n%s", addr, p.logTail(20))
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return u, err
		}
	}
}

var statsClient = &http.Client{Timeout: 2 * time.Second}

func (u *upstream) stats() (upstreamStats, error) {
	var s upstreamStats
	resp, err := statsClient.Get("http://" + u.addr + statsPath)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("upstream stats: HTTP %d", resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}
