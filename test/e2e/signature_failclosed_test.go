package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// When the verifier is too slow (atlas stopped) or down (atlas killed),
// Envoy fails closed: 503 with a JSON error, within about a second (the
// filters' 200 ms timeouts), and nothing is forwarded. Atlas runs with
// --envoy external and the test runs Envoy itself, so Envoy outlives it.
func TestSignatureFailsClosed(t *testing.T) {
	user := `{"user_id":"usr_fc","account_id":"acct_fc"}`
	body := `{"amount":"1","user_id":"usr_fc","account_id":"acct_fc"}`
	type req struct{ name, method, path, body string }
	signedReqs := []req{
		{"signed GET", "GET", "/v1/apis/http/stripe/v1/customers", ""},
		{"signed POST", "POST", "/v1/apis/http/backend/foo", body},
	}
	hdrFor := func(r req) []string {
		if r.method == "GET" {
			return []string{"Stripe-Signature", signAt(user, appSecret, time.Now()), "Stripe-User", user}
		}
		return []string{"Stripe-Signature", signAt(body, appSecret, time.Now()), "Content-Type", "application/json"}
	}
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			xds := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			a := startAtlas(t, sigConfig(up.port(), "STRIPE_APP_SECRET"), sigEnv(),
				"--signature-filter", filter, "--envoy", "external", "--xds-address", xds)
			// Runs before a.stop (cleanups are LIFO): a stopped atlas
			// could not act on stop's SIGTERM.
			t.Cleanup(func() {
				if a.cmd.ProcessState == nil {
					_ = a.cmd.Process.Signal(syscall.SIGCONT)
				}
			})
			envoyLogs := startSidecar(t, xds)
			defer func() {
				if t.Failed() {
					t.Logf("Envoy logs:\n%s", envoyLogs.String())
				}
			}()
			a.waitStatus("/v1/apis/http/plain/ready", 200)
			for _, r := range signedReqs {
				checkIdentity(t, want200(t, a, up, r.method, r.path, r.body, hdrFor(r)...), "usr_fc", "acct_fc", r.method == "GET")
			}

			failClosed := func(phase string) {
				t.Helper()
				for _, r := range signedReqs {
					before := len(up.requests())
					start := time.Now()
					resp, rb := mustDo(t, a, r.method, r.path, strings.NewReader(r.body), hdrFor(r)...)
					took := time.Since(start)
					checkVerifierDown(t, phase+", "+r.name, resp.StatusCode, resp.Header.Get("Content-Type"), rb)
					if took > 1500*time.Millisecond {
						t.Errorf("%s, %s: the 503 took %v; the filter timeout is 200 ms", phase, r.name, took)
					}
					if n := len(up.requests()) - before; n != 0 {
						t.Errorf("%s, %s: %d requests reached the upstream", phase, r.name, n)
					}
				}
				// Unsigned adapters do not depend on the verifier.
				r := want200(t, a, up, "GET", "/v1/apis/http/plain/x", "")
				if got := r.Header.Get("Authorization"); got != "Bearer plain-key" {
					t.Errorf("%s: plain adapter Authorization %q", phase, got)
				}
			}

			// (a) Too slow: atlas is frozen, its sockets stay open.
			if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			// kill(2) returns before every thread has stopped; until then
			// atlas may still answer (correctly: the requests are valid).
			waitStopped(t, a.cmd.Process.Pid)
			failClosed("atlas stopped")
			if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitSigned(t, a, signedReqs[0].path, func() []string { return hdrFor(signedReqs[0]) })
			for _, r := range signedReqs {
				want200(t, a, up, r.method, r.path, r.body, hdrFor(r)...)
			}

			// (b) Down: atlas is killed, connections are refused.
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = a.cmd.Wait() // reaped, so a.stop has nothing left to do
			failClosed("atlas killed")
		})
	}
}

// checkVerifierDown asserts Envoy's fail-closed answer: 503 (issue #3: down
// or too slow, 503 both) and a Stripe-shaped api_error with a message
// (Envoy's local reply, so no Atlas error code).
func checkVerifierDown(t *testing.T, what string, status int, contentType, body string) {
	t.Helper()
	if status != 503 {
		t.Errorf("%s: status %d, want 503; body %s", what, status, body)
	}
	if !strings.HasPrefix(contentType, "application/json") {
		t.Errorf("%s: Content-Type %q; body %s", what, contentType, body)
	}
	e, err := decodeAPIError(body)
	if err != nil {
		t.Errorf("%s: body is not a Stripe-shaped JSON error (%v): %s", what, err, body)
		return
	}
	if e.Error.Type != "api_error" || e.Error.Code != "verifier_unavailable" {
		t.Errorf("%s: error type/code %q/%q, want api_error/verifier_unavailable; body %s", what, e.Error.Type, e.Error.Code, body)
	}
	// Like every Stripe error, it says what happened.
	if strings.TrimSpace(e.Error.Message) == "" {
		t.Errorf("%s: the 503's error message is empty: %s", what, body)
	}
}

// startSidecar runs Envoy on a bootstrap from `atlas bootstrap` for xds.
func startSidecar(t *testing.T, xds string) *syncBuffer {
	t.Helper()
	bs, err := exec.Command(atlasBin, "bootstrap", "--xds-address", xds, "--node-id", "fail-closed",
		"--admin-address", fmt.Sprintf("127.0.0.1:%d", freePort(t))).Output()
	if err != nil {
		t.Fatalf("atlas bootstrap: %v", err)
	}
	path := filepath.Join(t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(path, bs, 0o600); err != nil {
		t.Fatal(err)
	}
	envoy := exec.Command(envoyBin, "-c", path, "--disable-hot-restart", "--log-level", "warning")
	logs := &syncBuffer{}
	envoy.Stdout, envoy.Stderr = logs, logs
	if err := envoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = envoy.Process.Kill(); _ = envoy.Wait() })
	return logs
}

// waitSigned polls a signed GET until it is answered 200.
func waitSigned(t *testing.T, a *atlas, path string, hdr func() []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, rb, err := a.do("GET", path, nil, hdr()...)
		if err == nil && resp.StatusCode == 200 {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = resp.Status + " " + rb
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("signed requests did not recover within 10 s of SIGCONT; last: %s", last)
}

// waitStopped waits until every thread of pid is in state T (stopped).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		if len(stats) == 0 {
			t.Fatalf("no /proc/%d/task/*/stat: cannot tell whether atlas stopped", pid)
		}
		running := 0
		for _, f := range stats {
			b, err := os.ReadFile(f)
			// The state follows the ")" that closes the command name.
			if i := strings.LastIndexByte(string(b), ')'); err == nil && i+2 < len(b) && b[i+2] != 'T' && b[i+2] != 't' {
				running++
			}
		}
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads of atlas still running 5 s after SIGSTOP", running)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
