package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// benchKeyEnv is the environment variable the Atlas config reads the key from.
const benchKeyEnv = "BENCH_KEY"

// atlasConfig renders a Moment Atlas YAML with adapter "up" plus any extra
// adapters (the reload test adds reload1, reload2, …), all pointing at the
// local upstream and injecting `Authorization: Bearer ${{ BENCH_KEY }}`.
func atlasConfig(ingressPort, adminPort, upstreamPort int, extra []string) []byte {
	names := append([]string{"up"}, extra...)
	var b strings.Builder
	b.WriteString("apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\nmetadata: {name: bench}\nspec:\n  apiAdapters:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: %s}\n", n)
	}
	fmt.Fprintf(&b, "  exposedPorts: {ingressHttpPort: %d, adminPort: %d}\n", ingressPort, adminPort)
	for _, n := range names {
		fmt.Fprintf(&b, `---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: %s}
spec:
  baseUrl: http://127.0.0.1:%d
  headers:
  - name: Authorization
    value: Bearer ${{ %s }}
`, n, upstreamPort, benchKeyEnv)
	}
	return []byte(b.String())
}

// atlasInstance is one `atlas run` with its own config and ports.
type atlasInstance struct {
	mode        string // static | extproc
	configPath  string
	ingressPort int
	adminPort   int
	envoyAdmin  string // managed Envoy's admin address
	proc        *proc
}

func startAtlas(o *options, atlasBin, envoyBin, dir, mode, key string, upstreamPort int) (*atlasInstance, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	a := &atlasInstance{
		mode:        mode,
		configPath:  filepath.Join(dir, "atlas-"+mode+".yml"),
		ingressPort: ports[0],
		adminPort:   ports[1],
	}
	xdsPort, envoyAdminPort := ports[2], ports[3]
	a.envoyAdmin = "127.0.0.1:" + strconv.Itoa(envoyAdminPort)
	if err := os.WriteFile(a.configPath, atlasConfig(a.ingressPort, a.adminPort, upstreamPort, nil), 0o600); err != nil {
		return nil, err
	}
	args := []string{"run",
		"-f", a.configPath,
		"--injection=" + mode,
		"--ingress-address", "127.0.0.1",
		"--xds-address", "127.0.0.1:" + strconv.Itoa(xdsPort),
		"--envoy-admin-address", a.envoyAdmin,
		"--envoy-bin", envoyBin,
	}
	args = append(args, o.atlasArgs...)
	a.proc, err = startProc("atlas "+mode, filepath.Join(dir, "atlas-"+mode+".log"),
		[]string{benchKeyEnv + "=" + key}, atlasBin, args...)
	return a, err
}

func (a *atlasInstance) url(adapter string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/v1/apis/http/%s/v1/charges", a.ingressPort, adapter)
}
