package mom

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seen is what the fake gateway received.
type seen struct {
	method, path, host, body string
	header                   http.Header
}

func fakeGateway(t *testing.T) (*httptest.Server, *seen) {
	t.Helper()
	var s seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s = seen{method: r.Method, path: r.URL.RequestURI(), host: r.Host, body: string(b), header: r.Header.Clone()}
		w.Header().Set("X-Atlas", "yes")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"no such adapter"}}`)
		case "/boom":
			w.WriteHeader(http.StatusBadGateway)
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			io.WriteString(w, `{"object":"list"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &s
}

func TestCurl(t *testing.T) {
	srv, got := fakeGateway(t)
	dataFile := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(dataFile, []byte("amount=100&currency=usd"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		args                []string
		stdin               string
		code                int
		method, path, body  string
		header              map[string]string
		wantStdout, wantErr string
	}{
		{name: "get", args: []string{"/v1/apis/http/stripe/v1/charges"}, method: "GET", path: "/v1/apis/http/stripe/v1/charges", wantStdout: `{"object":"list"}`},
		{name: "flags after path", args: []string{"/v1/x?limit=3", "-H", "Stripe-Version: 2024-06-20", "-H", "X-Two:two"}, method: "GET", path: "/v1/x?limit=3",
			header: map[string]string{"Stripe-Version": "2024-06-20", "X-Two": "two"}, wantStdout: `{"object":"list"}`},
		{name: "data implies post", args: []string{"/v1/charges", "-d", "amount=100", "-d", "currency=usd"}, method: "POST", body: "amount=100&currency=usd",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "explicit method wins", args: []string{"-X", "PUT", "/v1/x", "-d", `{"a":1}`, "-H", "Content-Type: application/json"}, method: "PUT", body: `{"a":1}`,
			header: map[string]string{"Content-Type": "application/json"}},
		{name: "data from file", args: []string{"/v1/x", "-d", "@" + dataFile}, method: "POST", body: "amount=100&currency=usd"},
		{name: "data from stdin", args: []string{"/v1/x", "--data", "@-"}, stdin: "from=stdin", method: "POST", body: "from=stdin"},
		{name: "host header", args: []string{"/v1/x", "-H", "Host: api.example.com"}, method: "GET", wantStdout: `{"object":"list"}`},
		{name: "path without slash", args: []string{"v1/x"}, method: "GET", path: "/v1/x"},
		{name: "double dash", args: []string{"-i", "--", "/v1/x"}, method: "GET", path: "/v1/x"},
		{name: "not found", args: []string{"/missing"}, code: 1, method: "GET", wantStdout: "no such adapter", wantErr: "the gateway answered 404 Not Found"},
		{name: "bad gateway", args: []string{"/boom"}, code: 1, method: "GET", wantErr: "502 Bad Gateway"},
		{name: "redirect not followed", args: []string{"/redirect", "-i"}, method: "GET", wantStdout: "HTTP/1.1 302 Found\n"},
		{name: "missing data file", args: []string{"/v1/x", "-d", "@/nonexistent/file"}, code: 1, wantErr: "-d @/nonexistent/file: open"},
		{name: "bad header", args: []string{"/v1/x", "-H", "novalue"}, code: 1, wantErr: "-H must look like 'Name: value'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*got = seen{}
			args := append([]string{"curl", "--base-url", srv.URL}, tt.args...)
			code, stdout, stderr := run(t, tt.stdin, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if tt.method != "" && got.method != tt.method {
				t.Errorf("method = %q, want %q", got.method, tt.method)
			}
			if tt.path != "" && got.path != tt.path {
				t.Errorf("path = %q, want %q", got.path, tt.path)
			}
			if tt.body != "" && got.body != tt.body {
				t.Errorf("body = %q, want %q", got.body, tt.body)
			}
			for k, v := range tt.header {
				if got.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", stdout, tt.wantStdout, stderr, tt.wantErr)
			}
		})
	}
	t.Run("host header sets the request host", func(t *testing.T) {
		run(t, "", "curl", "--base-url", srv.URL, "/v1/x", "-H", "Host: api.example.com")
		if got.host != "api.example.com" {
			t.Errorf("host = %q", got.host)
		}
	})
}

func TestCurlInclude(t *testing.T) {
	srv, _ := fakeGateway(t)
	code, stdout, _ := run(t, "", "curl", "/v1/x", "-i", "--base-url", srv.URL+"/")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	head, body, ok := strings.Cut(stdout, "\n\n")
	if !ok || body != `{"object":"list"}` {
		t.Fatalf("stdout = %q, want headers, a blank line, then the body", stdout)
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "HTTP/1.1 200 OK" || !strings.Contains(head, "\nX-Atlas: yes") || !strings.Contains(head, "\nContent-Type: application/json") {
		t.Errorf("head = %q", head)
	}
}

func TestCurlEnvironment(t *testing.T) {
	srv, got := fakeGateway(t)
	t.Setenv("ATLAS_URL", srv.URL)
	if code, _, stderr := run(t, "", "curl", "/from-env"); code != 0 || got.path != "/from-env" {
		t.Fatalf("exit %d, path %q, stderr %s", code, got.path, stderr)
	}
	t.Setenv("ATLAS_URL", "not a url")
	if code, _, stderr := run(t, "", "curl", "/x"); code != 1 || !strings.Contains(stderr, "fix --base-url or ATLAS_URL") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

func TestCurlConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	code, stdout, stderr := run(t, "", "curl", "/v1/apis/http/stripe/v1/charges", "--base-url", "http://"+addr)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{addr, "connection refused", "make run", "bin/atlas run -f FILE"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not mention %q", stderr, want)
		}
	}
}
