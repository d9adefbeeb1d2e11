package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// atlas is one running `atlas run` with its managed Envoy.
type atlas struct {
	t          *testing.T
	cmd        *exec.Cmd
	configPath string
	ingress    int
	envoyAdmin int
	adminPort  int // Atlas's admin gRPC API
	logs       *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// handedOut remembers every port freePort returned, so two components of
// one test never get the same port before either has bound it (the kernel
// happily hands a just-closed port out again).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		handedOut.Lock()
		seen := handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if !seen {
			return port
		}
	}
	t.Fatal("no unused loopback port found")
	return 0
}

// startAtlas writes config (with INGRESS_PORT replaced) and runs atlas on it.
// env adds variables (the adapters' secrets) to atlas's environment.
func startAtlas(t *testing.T, config string, env map[string]string, args ...string) *atlas {
	t.Helper()
	a := &atlas{t: t, ingress: freePort(t), envoyAdmin: freePort(t), adminPort: freePort(t), logs: &syncBuffer{}}
	a.configPath = filepath.Join(t.TempDir(), "atlas.yml")
	a.writeConfig(config)
	full := append([]string{"run", "-f", a.configPath,
		"--ingress-address", "127.0.0.1",
		"--xds-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--envoy-admin-address", fmt.Sprintf("127.0.0.1:%d", a.envoyAdmin),
		"--log-format", "json",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--admin-address", fmt.Sprintf("127.0.0.1:%d", a.adminPort),
		// Any free port: Envoy learns the bound one through xDS.
		"--apps-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}, args...)
	if _, ok := env["ENVOY_BIN"]; !ok {
		full = append(full, "--envoy-bin", envoyBin)
	}
	a.cmd = exec.Command(atlasBin, full...)
	a.cmd.Env = os.Environ()
	for k, v := range env {
		a.cmd.Env = append(a.cmd.Env, k+"="+v)
	}
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	return a
}

func (a *atlas) writeConfig(config string) {
	a.t.Helper()
	config = strings.ReplaceAll(config, "INGRESS_PORT", fmt.Sprint(a.ingress))
	// Write and rename, as editors do.
	tmp := a.configPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(config), 0o600); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(tmp, a.configPath); err != nil {
		a.t.Fatal(err)
	}
}

func (a *atlas) stop() {
	if a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
		a.t.Errorf("atlas did not stop within 15s of SIGTERM")
	}
	if a.t.Failed() {
		a.t.Logf("atlas logs:\n%s", a.logs.String())
	}
}

func (a *atlas) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", a.ingress, path) }

// client never reuses connections, so each request sees Envoy's latest
// listener (see docs: a listener change drains old connections).
var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// waitStatus polls path until it answers want (or fails after 20 s).
func (a *atlas) waitStatus(path string, want int, hdr ...string) *http.Response {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, body, err := a.do("GET", path, nil, hdr...)
		if err == nil && resp.StatusCode == want {
			return resp
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("GET %s never answered %d within 20s; last: %s\natlas logs:\n%s", path, want, last, a.logs.String())
	return nil
}

func (a *atlas) do(method, path string, body io.Reader, hdr ...string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, a.url(path), body)
	if err != nil {
		return nil, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// envoyAdminGet reads a page from the managed Envoy's admin listener.
func (a *atlas) envoyAdminGet(path string) string {
	a.t.Helper()
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", a.envoyAdmin, path))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
