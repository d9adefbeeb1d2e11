package mom

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
)

// DefaultGatewayURL is where `mom curl` sends requests unless --base-url or
// ATLAS_URL says otherwise: the default ingressHttpPort on this machine.
const DefaultGatewayURL = "http://127.0.0.1:8082"

type curlOptions struct {
	method, baseURL string
	headers, data   stringList
	include, silent bool
}

func (e *env) curlFlags(o *curlOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("curl", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&o.method, "X", "", "request `METHOD` (default GET, or POST with -d)")
	fs.StringVar(&o.method, "request", "", "same as -X")
	fs.Var(&o.headers, "H", "request header `'Name: value'`; repeatable")
	fs.Var(&o.headers, "header", "same as -H")
	fs.Var(&o.data, "d", "request body `DATA`; @FILE reads a file, @- standard input; repeated values are joined with &")
	fs.Var(&o.data, "data", "same as -d")
	fs.BoolVar(&o.include, "i", false, "print the status line and response headers before the body")
	fs.BoolVar(&o.include, "include", false, "same as -i")
	fs.BoolVar(&o.silent, "s", false, "accepted for curl compatibility; mom curl prints no progress")
	fs.StringVar(&o.baseURL, "base-url", "", "gateway `URL` (default $ATLAS_URL or "+DefaultGatewayURL+")")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: mom curl PATH [-X METHOD] [-H 'Name: value']... [-d DATA|@FILE] [-i] [--base-url URL]

Sends a request through the Atlas gateway and prints the response body. Exits
with 1 when the gateway answers 4xx or 5xx. Flags may come before or after PATH.

Example:
  mom curl /v1/apis/http/stripe/v1/charges -i

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterleaved parses flags that may come before or after positional
// arguments, as curl users write them. "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	for {
		if code, ok := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, exitOK, true
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), exitOK, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func (e *env) curl(ctx context.Context, args []string) int {
	var o curlOptions
	fs := e.curlFlags(&o)
	paths, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(paths) != 1 {
		return e.usageError(fs, "want exactly one PATH, got %d", len(paths))
	}
	req, err := e.newRequest(ctx, &o, paths[0])
	if err != nil {
		return e.fail(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return e.fail(fmt.Errorf("cannot connect to the Atlas gateway at %s (connection refused). Is it running? Start it with `make run` or `bin/atlas run -f FILE`, or point mom elsewhere with --base-url or ATLAS_URL", req.URL.Host))
		}
		return e.fail(fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err))
	}
	defer resp.Body.Close()
	if o.include {
		fmt.Fprintf(e.stdout, "%s %s\n", resp.Proto, resp.Status)
		for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(e.stdout, "%s: %s\n", k, v)
			}
		}
		fmt.Fprintln(e.stdout)
	}
	if _, err := io.Copy(e.stdout, resp.Body); err != nil {
		return e.fail(fmt.Errorf("read the response body: %w", err))
	}
	if resp.StatusCode >= 400 {
		fmt.Fprintf(e.stderr, "mom: the gateway answered %s\n", resp.Status)
		return exitError
	}
	return exitOK
}

func (e *env) newRequest(ctx context.Context, o *curlOptions, path string) (*http.Request, error) {
	target, err := e.target(o.baseURL, path)
	if err != nil {
		return nil, err
	}
	body, err := e.body(o.data)
	if err != nil {
		return nil, err
	}
	method := o.method
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return nil, fmt.Errorf("build the request: %w", err)
	}
	for _, raw := range o.headers {
		name, value, ok := strings.Cut(raw, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(raw, "\r\n") {
			return nil, fmt.Errorf("-H must look like 'Name: value' (one header, no line breaks)")
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Add(name, value)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d does
	}
	return req, nil
}

// target joins the gateway base URL and PATH; a PATH that is a full URL is
// used as is.
func (e *env) target(base, path string) (string, error) {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path, nil
	}
	if base == "" {
		base, _ = e.lookupEnv("ATLAS_URL")
	}
	if base == "" {
		base = DefaultGatewayURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("gateway URL %q is not an http(s) URL with a host; fix --base-url or ATLAS_URL", base)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimRight(base, "/") + path, nil
}

// body returns the -d data joined with &, reading @FILE and @- (stdin).
func (e *env) body(data []string) ([]byte, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var parts [][]byte
	for _, d := range data {
		switch {
		case d == "@-":
			b, err := io.ReadAll(e.stdin)
			if err != nil {
				return nil, fmt.Errorf("-d @-: read standard input: %w", err)
			}
			parts = append(parts, b)
		case strings.HasPrefix(d, "@"):
			b, err := os.ReadFile(d[1:])
			if err != nil {
				return nil, fmt.Errorf("-d %s: %w", d, err)
			}
			parts = append(parts, b)
		default:
			parts = append(parts, []byte(d))
		}
	}
	return bytes.Join(parts, []byte("&")), nil
}
