package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/testpki"
)

// recorded is what an upstream saw of one request.
type recorded struct {
	Method, Path, RawPath, Host string
	Header                      http.Header
}

// recorder is an upstream that answers 200 and records every request.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.RawPath, req.Host, req.Header.Clone()})
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"path":%q}`, req.URL.Path)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) port() int { return r.srv.Listener.Addr().(*net.TCPAddr).Port }

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

// startTLSRecorder serves TLS with a certificate for 127.0.0.1 issued by a
// fresh test CA; it returns the CA's PEM file.
func startTLSRecorder(t *testing.T) (*recorder, string) {
	t.Helper()
	ca := testpki.NewCA(t, "Atlas e2e test CA")
	der, leafKey := ca.Issue(t, "atlas-e2e-upstream")
	r := &recorder{}
	r.srv = httptest.NewUnstartedServer(r)
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: leafKey}}}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return r, caFile
}

// startStripeMock runs stripe-mock on a free loopback port.
func startStripeMock(t *testing.T) int {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(stripeMockBin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port), "-https-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting stripe-mock: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("stripe-mock did not listen within 20s")
	return 0
}
