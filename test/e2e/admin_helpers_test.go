package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// momBin is bin/mom built from this tree, next to atlasBin (so TestMain's
// cleanup removes it), once per test binary.
var (
	momOnce  sync.Once
	momPath  string
	momBuild error
)

func momBin(t *testing.T) string {
	t.Helper()
	momOnce.Do(func() {
		momPath = filepath.Join(filepath.Dir(atlasBin), "mom")
		out, err := exec.Command("go", "build", "-o", momPath, "github.com/atlas-gateway/atlas/cmd/mom").CombinedOutput()
		if err != nil {
			momBuild = fmt.Errorf("building bin/mom: %v\n%s", err, out)
		}
	})
	if momBuild != nil {
		t.Fatal(momBuild)
	}
	return momPath
}

// grpcurlBin is $GRPCURL_BIN, else the project-local install of make tools.
func grpcurlBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("GRPCURL_BIN")
	if p == "" {
		p, _ = filepath.Abs("../../.tools/bin/grpcurl")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("grpcurl not found at %s: run make tools (or make grpcurl), or set GRPCURL_BIN", p)
	}
	return p
}

// momResult is one mom run.
type momResult struct {
	stdout, stderr string
	code           int
}

func (r momResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// mom runs `mom atlas ARGS...` with token as $ATLAS_ADMIN_TOKEN (none when
// empty) and stdin; no ATLAS_* variable of the test's own environment leaks in.
func mom(t *testing.T, token, stdin string, args ...string) momResult {
	t.Helper()
	cmd := exec.Command(momBin(t), append([]string{"atlas"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATLAS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if token != "" {
		cmd.Env = append(cmd.Env, "ATLAS_ADMIN_TOKEN="+token)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running mom %v: %v", args, err)
	}
	return momResult{out.String(), errb.String(), code}
}

// mustMom is mom that fails the test unless mom exits 0.
func mustMom(t *testing.T, token, stdin string, args ...string) string {
	t.Helper()
	r := mom(t, token, stdin, args...)
	if r.code != 0 {
		t.Fatalf("mom atlas %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// momJSON runs a mom command with -o json and decodes its output into m.
func momJSON(t *testing.T, token string, m proto.Message, args ...string) {
	t.Helper()
	out := mustMom(t, token, "", append(args, "-o", "json")...)
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("mom atlas %s -o json is not a %T: %v\n%s", strings.Join(args, " "), m, err, out)
	}
}

func (a *atlas) adminAddr() string { return fmt.Sprintf("127.0.0.1:%d", a.adminPort) }

// startAtlasIn is startAtlas with the data directory given: the later
// --data-dir overrides startAtlas's own (Go's flag package keeps the last).
func startAtlasIn(t *testing.T, dataDir, config string, env map[string]string, args ...string) *atlas {
	t.Helper()
	return startAtlas(t, config, env, append([]string{"--data-dir", dataDir}, args...)...)
}

// randomHex is n random bytes, hex encoded.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// httpDoc is a Moment `kind: HTTP` adapter document for adapters apply.
func httpDoc(name, baseURL string, headers ...[2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata:\n  name: %s\nspec:\n  baseUrl: %s\n", name, baseURL)
	if len(headers) > 0 {
		b.WriteString("  headers:\n")
		for _, h := range headers {
			fmt.Fprintf(&b, "  - name: %s\n    value: %q\n", h[0], h[1])
		}
	}
	return b.String()
}

// writeTemp writes content to a new file in a test directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFleet polls `mom atlas status -o json` on a until ok accepts the
// answer (or fails after 20 s), and returns that answer.
func waitFleet(t *testing.T, a *atlas, token string, ok func(*adminv1.ListEnvoysResponse) bool) *adminv1.ListEnvoysResponse {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		r := mom(t, token, "", "status", "--admin", a.adminAddr(), "-o", "json")
		var resp adminv1.ListEnvoysResponse
		if r.code == 0 && protojson.Unmarshal([]byte(r.stdout), &resp) == nil && ok(&resp) {
			return &resp
		}
		last = r.String()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("mom atlas status never showed the expected fleet within 20s; last:\n%s\natlas logs:\n%s", last, a.logs.String())
	return nil
}

// allAcked reports whether exactly one Envoy is connected and it ACKed the
// last version of every type it was sent (at least LDS, RDS and CDS).
func allAcked(resp *adminv1.ListEnvoysResponse) bool {
	if len(resp.GetEnvoys()) != 1 {
		return false
	}
	seen := map[string]bool{}
	for _, r := range resp.GetEnvoys()[0].GetResources() {
		if r.GetState() != adminv1.AckState_ACK_STATE_ACK || r.GetLastAckedVersion() != r.GetLastSentVersion() {
			return false
		}
		seen[r.GetTypeUrl()[strings.LastIndex(r.GetTypeUrl(), ".")+1:]] = true
	}
	return seen["Listener"] && seen["RouteConfiguration"] && seen["Cluster"]
}

// grpcurl runs grpcurl -plaintext with args and returns its combined output
// and whether it exited 0.
func grpcurl(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(grpcurlBin(t), append([]string{"-plaintext"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running grpcurl: %v", err)
	}
	return string(out), err == nil
}

// grpcCode calls method on a's admin API with token and the JSON request
// body, and returns the gRPC code name grpcurl reports ("OK" on success)
// and its output.
func grpcCode(t *testing.T, a *atlas, token, method, body string) (string, string) {
	t.Helper()
	args := []string{"-d", body}
	if token != "" {
		args = append(args, "-H", "authorization: Bearer "+token)
	}
	out, ok := grpcurl(t, append(args, a.adminAddr(), method)...)
	if ok {
		return "OK", out
	}
	for _, l := range strings.Split(out, "\n") {
		if c, found := strings.CutPrefix(strings.TrimSpace(l), "Code: "); found {
			return c, out
		}
	}
	return "no code", out
}
