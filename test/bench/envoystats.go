package main

import (
	"bufio"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Envoy counters recorded around every row run, so an invalid run shows
// where its non-2xx answers came from (ext_proc timeouts, ext_authz errors
// or denials, upstream resets…).
var envoyStatRE = regexp.MustCompile(`^(http\.[^.]+\.downstream_rq_[1-5]xx` +
	`|http\.[^.]+\.ext_proc\..+` +
	`|http\.[^.]+\.ext_authz\..+` +
	`|cluster\..+\.(upstream_rq_[1-5]xx|upstream_rq_timeout|upstream_cx_connect_fail|upstream_rq_pending_overflow))$`)

// envoyCounters reads the admin /stats text and keeps the counters above.
func envoyCounters(adminAddr string) (map[string]int64, error) {
	if adminAddr == "" {
		return nil, nil
	}
	resp, err := statsClient.Get("http://" + adminAddr + "/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("envoy admin /stats: HTTP %d", resp.StatusCode)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ": ")
		if !ok || strings.HasPrefix(name, "http.admin.") || !envoyStatRE.MatchString(name) {
			continue
		}
		if v, err := strconv.ParseInt(val, 10, 64); err == nil { // skips histograms
			out[name] = v
		}
	}
	return out, sc.Err()
}

// counterDelta returns after-before, non-zero entries only.
func counterDelta(before, after map[string]int64) map[string]int64 {
	if after == nil {
		return nil
	}
	d := map[string]int64{}
	for k, v := range after {
		if v -= before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// errorCounters formats the counters that explain failures, for messages.
func errorCounters(d map[string]int64) string {
	var parts []string
	for k, v := range d {
		if strings.HasSuffix(k, "downstream_rq_2xx") || strings.HasSuffix(k, "upstream_rq_2xx") ||
			strings.Contains(k, "stream_msgs_") || strings.HasSuffix(k, "streams_started") || strings.HasSuffix(k, "streams_closed") ||
			(strings.Contains(k, ".ext_authz.") && strings.HasSuffix(k, ".ok")) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
