package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The upstream runs as a subprocess of this same binary (--upstream-child)
// with a small GOMAXPROCS, so its CPU use is bounded and visible as its own
// process, instead of competing with the harness's goroutines.

const statsPath = "/__bench/stats"

// selfCheckHeader marks the harness's own probes of the upstream.
const selfCheckHeader = "Bench-Self-Check"

// upstreamBody is the ~200-byte JSON answer (shaped like a Stripe list).
var upstreamBody = []byte(`{"object":"list","url":"/v1/charges","has_more":false,"data":[{"id":"ch_3Bench000000000000000000","object":"charge","amount":2000,"currency":"usd","status":"succeeded","livemode":false,"paid":true}]}` + "\n")

// upstreamStats are cumulative counters served at statsPath.
type upstreamStats struct {
	OK           int64 `json:"ok"`
	Unauthorized int64 `json:"unauthorized"`
	// Mismatch counts requests that had the key but not what a signed route
	// must deliver (identity headers, no signature headers) or whose body
	// was not the one sent. They are answered 401 too.
	Mismatch int64 `json:"mismatch"`
}

func (s upstreamStats) sub(o upstreamStats) upstreamStats {
	return upstreamStats{OK: s.OK - o.OK, Unauthorized: s.Unauthorized - o.Unauthorized, Mismatch: s.Mismatch - o.Mismatch}
}

// checkSigned says what a request that reached the upstream through a signed
// route lacks, or "" when it is what Atlas must forward: the verified
// identity (Atlas-Verified-*), Stripe-Account set from it (the adapter has
// onBehalfOf), and no signature headers left.
func checkSigned(h http.Header) string {
	if v := h.Values(hdrVerifiedAccount); len(v) != 1 || v[0] != benchAccountID {
		return fmt.Sprintf("%s = %q, want [%s]", hdrVerifiedAccount, v, benchAccountID)
	}
	if v := h.Values(hdrVerifiedUser); len(v) != 1 || v[0] != benchUserID {
		return fmt.Sprintf("%s = %q, want [%s]", hdrVerifiedUser, v, benchUserID)
	}
	if v := h.Values(hdrStripeAccount); len(v) != 1 || v[0] != benchAccountID {
		return fmt.Sprintf("%s = %q, want [%s]", hdrStripeAccount, v, benchAccountID)
	}
	for _, n := range []string{"Stripe-Signature", "Stripe-User", "Stripe-User-Id", "Stripe-Account-Id"} {
		if len(h.Values(n)) != 0 {
			return n + " reached the upstream"
		}
	}
	return ""
}

// runUpstreamChild serves until SIGTERM/SIGINT (the default action ends it).
func runUpstreamChild(listen, key string) error {
	want := "Bearer " + key
	var ok, unauth, mismatch atomic.Int64
	var loggedMismatch atomic.Bool
	deny := func(w http.ResponseWriter, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":` + strconv.Quote(msg) + `}}` + "\n"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc(statsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(upstreamStats{OK: ok.Load(), Unauthorized: unauth.Load(), Mismatch: mismatch.Load()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Exactly one Authorization header with the expected value: this is
		// what proves the proxy injected (and did not duplicate) the key.
		if v := r.Header.Values("Authorization"); len(v) != 1 || v[0] != want {
			unauth.Add(1)
			deny(w, "Invalid API Key provided")
			return
		}
		// Every row that sends a body sends signedBody: it must arrive
		// unchanged (the signature covers it byte for byte).
		problem := ""
		if r.Method != http.MethodGet {
			body, err := io.ReadAll(io.LimitReader(r.Body, 2*signedBodyBytes))
			switch {
			case err != nil:
				problem = "reading the body: " + err.Error()
			case !bytes.Equal(body, signedBody):
				problem = fmt.Sprintf("body of %d bytes is not the %d bytes sent", len(body), len(signedBody))
			}
		}
		if problem == "" && strings.HasPrefix(r.URL.Path, signedPrefix+"/") {
			problem = checkSigned(r.Header)
		}
		if problem != "" {
			mismatch.Add(1)
			// Log the first one to upstream.log (kept by --keep-tmp); the
			// harness's own self-check does not count.
			if r.Header.Get(selfCheckHeader) == "" && !loggedMismatch.Swap(true) {
				fmt.Fprintf(os.Stderr, "first mismatch: %s %s: %s\n", r.Method, r.URL.Path, problem)
			}
			deny(w, "bench upstream: "+problem)
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
