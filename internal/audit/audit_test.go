package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atlas-gateway/atlas/internal/verify"
)

// Distinctive values that must never appear in a line.
const (
	secretKey  = "sk_live_AUDITSECRETKEY0123"
	backendKey = "backend-key-AUDIT-9876"
	signature  = "t=1700000000,v1=deadbeefAUDITSIGNATURE"
	body       = `{"note":"AUDITBODYCONTENT"}`
	queryToken = "AUDITQUERYTOKEN"
)

func allowedDecision() verify.Decision {
	return verify.Decision{Allow: true,
		Set: []verify.Header{
			{Name: "Authorization", Value: "Bearer " + secretKey},
			{Name: "X-Backend-Key", Value: backendKey},
			{Name: verify.HeaderVerifiedUser, Value: "usr_audit"},
			{Name: verify.HeaderVerifiedAccount, Value: "acct_audit"},
			{Name: verify.HeaderVerifiedApp, Value: "my-app"},
			{Name: verify.HeaderStripeAccount, Value: "acct_audit"},
		},
		Remove: verify.SignatureHeaders,
	}
}

func TestLog(t *testing.T) {
	for _, c := range []struct {
		name  string
		entry Entry
		want  map[string]any
		// absent fields
		absent []string
	}{
		{
			name: "allowed",
			entry: Entry{Filter: "extproc", Adapter: "stripe", Method: "GET",
				Path: "/v1/apis/http/stripe/v1/customers?api_key=" + queryToken + "&x=" + signature, RequestID: "req-123",
				Decision: allowedDecision()},
			want: map[string]any{"msg": "signature check", "filter": "extproc", "adapter": "stripe", "method": "GET",
				"path": "/v1/apis/http/stripe/v1/customers", "request_id": "req-123", "decision": "allow", "reason": "verified",
				"account": "acct_audit", "user": "usr_audit"},
			absent: []string{"status"},
		},
		{
			name: "denied",
			entry: Entry{Filter: "extauthz", Adapter: "backend", Method: "POST", Path: "/v1/apis/http/backend/foo#" + queryToken,
				Decision: verify.Decision{Status: 401, Code: "signature_invalid", Message: "No signature matched " + signature}},
			want: map[string]any{"filter": "extauthz", "adapter": "backend", "method": "POST", "path": "/v1/apis/http/backend/foo",
				"decision": "deny", "reason": "signature_invalid", "status": float64(401)},
			// An unverified request names no account or user, even a claimed one.
			absent: []string{"account", "user", "request_id"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			New(&buf).Log(c.entry)
			line := buf.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("want exactly one line, got %q", line)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("not JSON: %v: %s", err, line)
			}
			if _, ok := got["time"].(string); !ok {
				t.Errorf("no time: %s", line)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			for _, k := range c.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present: %s", k, line)
				}
			}
			for _, leak := range []string{secretKey, backendKey, signature, "deadbeef", "AUDITBODYCONTENT", queryToken, "No signature matched", "Authorization"} {
				if strings.Contains(line, leak) {
					t.Errorf("line contains %q: %s", leak, line)
				}
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	for _, l := range []*Logger{Disabled(), nil, {}} {
		if l.Enabled() {
			t.Error("Enabled() on a disabled logger")
		}
		l.Log(Entry{Decision: allowedDecision()}) // must not panic
	}
}

func TestStripQuery(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b":        "/a/b",
		"/a/b?x=1":    "/a/b",
		"/a/b?":       "/a/b",
		"/a#frag?x=1": "/a",
		"":            "",
		"?only":       "",
	} {
		if got := StripQuery(in); got != want {
			t.Errorf("StripQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	var stdout bytes.Buffer
	l, c, err := Open("stdout", &stdout)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Entry{Adapter: "a", Decision: allowedDecision()})
	_ = c.Close()
	if !strings.Contains(stdout.String(), `"adapter":"a"`) {
		t.Errorf("stdout: %q", stdout.String())
	}

	l, c, err = Open("off", &stdout)
	if err != nil || l.Enabled() {
		t.Fatalf("off: enabled=%v err=%v", l.Enabled(), err)
	}
	_ = c.Close()

	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, c, err = Open(path, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Entry{Adapter: "b", Decision: allowedDecision()})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || lines[0] != "earlier line" {
		t.Errorf("the file is appended to: %q", b)
	}

	fresh := filepath.Join(t.TempDir(), "new.log")
	_, c, err = Open(fresh, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a new audit log is created 0600: %v %v", st.Mode(), err)
	}

	if _, _, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "a.log"), &stdout); err == nil {
		t.Error("opening a file in a missing directory succeeded")
	}
}

// Lines from concurrent requests never interleave.
func TestConcurrentLines(t *testing.T) {
	var buf lockedBuffer
	l := New(&buf)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				l.Log(Entry{Adapter: "stripe", Path: "/p", Decision: allowedDecision()})
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("broken line %q", line)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
