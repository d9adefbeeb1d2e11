package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// probeClient is used for readiness and reload polling. Keep-alive is on
// (a poll every 2 ms should not pay a new connection each time); a request
// that fails on a connection Envoy closed just counts as "not yet".
var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
}

// get200 reports whether GET url (with the given headers) answers 200.
func get200(ctx context.Context, url string, headers map[string]string) (bool, int) {
	r := reqSpec{method: http.MethodGet, url: url}
	for k, v := range headers {
		r.headers = append(r.headers, k+": "+v)
	}
	return do200(ctx, r)
}

// do200 sends r once and reports whether it answered 200, and the status.
func do200(ctx context.Context, r reqSpec) (bool, int) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return false, 0
	}
	for _, h := range r.headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false, 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.StatusCode
}

// waitFor200 sends r every interval until it answers 200, p exits, ctx
// ends or timeout passes. It returns the time it took.
func waitFor200(ctx context.Context, p *proc, r reqSpec, interval, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	last := 0
	for {
		ok, code := do200(ctx, r)
		if ok {
			return time.Since(start), nil
		}
		if code != 0 {
			last = code
		}
		if p != nil && p.exited() {
			return time.Since(start), p.exitError()
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("%s %s: no 200 after %v (last HTTP status %d)", r.method, r.url, timeout, last)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return time.Since(start), err
		}
	}
}
