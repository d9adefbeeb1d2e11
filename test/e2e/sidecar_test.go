package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every bootstrap we ship passes `envoy --mode validate`.
func TestShippedBootstrapsValidate(t *testing.T) {
	files, _ := filepath.Glob("../../envoy/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bootstrap files found in envoy/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(envoyBin, "--mode", "validate", "-c", f, "--disable-hot-restart").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("envoy --mode validate %s: %v\n%s", f, err, out)
			}
		})
	}
}

// --envoy=external serves xDS only; an Envoy started separately with a
// bootstrap from `atlas bootstrap` (the sidecar shape) gets the config.
func TestExternalEnvoyOverADS(t *testing.T) {
	up := startRecorder(t)
	xdsPort := freePort(t)
	a := startAtlas(t, atlasConfig(adapter{name: "side", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()),
		headers: [][2]string{{"Authorization", "Bearer sidecar-key"}}}), nil,
		"--envoy", "external", "--xds-address", fmt.Sprintf("127.0.0.1:%d", xdsPort))

	adminPort := freePort(t)
	bs, err := exec.Command(atlasBin, "bootstrap", "--xds-address", fmt.Sprintf("127.0.0.1:%d", xdsPort),
		"--node-id", "sidecar-1", "--admin-address", fmt.Sprintf("127.0.0.1:%d", adminPort)).Output()
	if err != nil {
		t.Fatalf("atlas bootstrap: %v", err)
	}
	path := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(path, bs, 0o600); err != nil {
		t.Fatal(err)
	}
	envoy := exec.Command(envoyBin, "-c", path, "--disable-hot-restart", "--log-level", "warning")
	var logs syncBuffer
	envoy.Stdout, envoy.Stderr = &logs, &logs
	if err := envoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = envoy.Process.Kill(); _ = envoy.Wait() })

	a.waitStatus("/v1/apis/http/side/hello", 200)
	reqs := up.requests()
	if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != "Bearer sidecar-key" {
		t.Fatalf("sidecar Envoy forwarded Authorization %q", got)
	}
	waitLog(t, a, `"node":"sidecar-1"`, 1)
}
