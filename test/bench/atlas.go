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
// With signed, it adds the signed adapter "sig" (upstream path /signed,
// onBehalfOf) and its StripeApp, whose secret is ${{ BENCH_APP_SECRET }}.
func atlasConfig(ingressPort, adminPort, upstreamPort int, extra []string, signed bool) []byte {
	names := append([]string{"up"}, extra...)
	if signed {
		names = append(names, signedAdapter)
	}
	var b strings.Builder
	b.WriteString("apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\nmetadata: {name: bench}\nspec:\n  apiAdapters:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: %s}\n", n)
	}
	fmt.Fprintf(&b, "  exposedPorts: {ingressHttpPort: %d, adminPort: %d}\n", ingressPort, adminPort)
	for _, n := range names {
		base, stripeApp := fmt.Sprintf("http://127.0.0.1:%d", upstreamPort), ""
		if n == signedAdapter {
			base += signedPrefix
			stripeApp = fmt.Sprintf("  stripeApp: {name: %s, onBehalfOf: true}\n", benchAppName)
		}
		fmt.Fprintf(&b, `---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: %s}
spec:
  baseUrl: %s
%s  headers:
  - name: Authorization
    value: Bearer ${{ %s }}
`, n, base, stripeApp, benchKeyEnv)
	}
	if signed {
		fmt.Fprintf(&b, `---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: %s}
spec:
  signingSecrets:
  - ${{ %s }}
  tolerance: 300s
`, benchAppName, benchAppSecretEnv)
	}
	return []byte(b.String())
}

// atlasInstance is one `atlas run` with its own config and ports.
type atlasInstance struct {
	name        string // instStatic | instExtproc | instExtauthz
	signed      bool   // config has the signed adapter
	configPath  string
	ingressPort int
	adminPort   int
	envoyAdmin  string // managed Envoy's admin address
	proc        *proc
}

func startAtlas(o *options, atlasBin, envoyBin, dir, inst, key, appSecret string, upstreamPort int) (*atlasInstance, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	a := &atlasInstance{
		name:        inst,
		signed:      inst != instStatic,
		configPath:  filepath.Join(dir, "atlas-"+inst+".yml"),
		ingressPort: ports[0],
		adminPort:   ports[1],
	}
	xdsPort, envoyAdminPort := ports[2], ports[3]
	a.envoyAdmin = "127.0.0.1:" + strconv.Itoa(envoyAdminPort)
	if err := os.WriteFile(a.configPath, atlasConfig(a.ingressPort, a.adminPort, upstreamPort, nil, a.signed), 0o600); err != nil {
		return nil, err
	}
	args := []string{"run",
		"-f", a.configPath,
		"--ingress-address", "127.0.0.1",
		"--xds-address", "127.0.0.1:" + strconv.Itoa(xdsPort),
		"--envoy-admin-address", a.envoyAdmin,
		"--envoy-bin", envoyBin,
		// Instances run side by side: any free port for the apps server.
		"--apps-address", "127.0.0.1:0",
	}
	switch inst {
	case instStatic:
		args = append(args, "--injection=static")
	case instExtproc:
		args = append(args, "--injection=extproc", "--signature-filter=extproc")
	case instExtauthz:
		args = append(args, "--injection=extproc", "--signature-filter=extauthz")
	}
	args = append(args, o.atlasArgs...)
	a.proc, err = startProc("atlas "+inst, filepath.Join(dir, "atlas-"+inst+".log"),
		[]string{benchKeyEnv + "=" + key, benchAppSecretEnv + "=" + appSecret}, atlasBin, args...)
	return a, err
}

func (a *atlasInstance) url(adapter string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/v1/apis/http/%s/v1/charges", a.ingressPort, adapter)
}
