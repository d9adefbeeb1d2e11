package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/model"
)

// secretMarker is in every fake secret; no message may ever contain it.
const secretMarker = "s3cr3t"

var testEnv = map[string]string{
	"STRIPE_API_KEY":      "sk_test_s3cr3t_4242",
	"DD_API_KEY":          "dd-api-s3cr3t",
	"DD_APP_KEY":          "dd-app-s3cr3t",
	"GITHUB_TOKEN":        "ghp_s3cr3t",
	"PAGERDUTY_API_KEY":   "pd-s3cr3t-1",
	"PAGERDUTY_API_KEY_2": "pd-s3cr3t-2",
	"MAILCHIMP_API_KEY":   "mc-s3cr3t",
	"CRLF_VALUE":          "sk_s3cr3t\r\nX-Injected: 1",
	"SPACEY_NAME":         "sk s3cr3t with spaces",
	"ADMIN_PORT":          "19000",
	"INTERNAL_KEY":        "internal-s3cr3t",
	// StripeApp signing secrets. ODD_SECRET starts with the marker, so a
	// message that shows even a secret's first bytes fails the tests.
	"STRIPE_APP_SECRET":          "absec_s3cr3t_current_9f8e",
	"STRIPE_APP_SECRET_PREVIOUS": "absec_s3cr3t_previous_7d6c",
	"WEBHOOK_SECRET":             "whsec_s3cr3t_hook_5b4a",
	"ODD_SECRET":                 "s3cr3t_without_prefix_3e2d",
	"EMPTY_SECRET":               "",
	"NEWLINE_SECRET":             "absec_s3cr3t\n",
	"BACKEND_KEY":                "backend-s3cr3t",
	// The OAuth provider of examples/stripe-app/atlas.yml.
	"OAUTH_AUTHORIZE_URL": "https://github.com/login/oauth/authorize",
	"OAUTH_TOKEN_URL":     "https://github.com/login/oauth/access_token",
	"OAUTH_CLIENT_ID":     "Iv1.0123456789abcdef",
	"OAUTH_CLIENT_SECRET": "oauth-client-s3cr3t",
	"OAUTH_API_BASE_URL":  "https://api.github.com",
	"OAUTH_REDIRECT_URL":  "https://atlas.example.com/v1/oauth/thirdparty/callback",
}

// testOptions resolves variables from testEnv and serves extra in-memory
// files before falling back to the disk.
func testOptions(files map[string][]byte) Options {
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok },
		ReadFile: func(p string) ([]byte, error) {
			if b, ok := files[filepath.ToSlash(p)]; ok {
				return b, nil
			}
			return os.ReadFile(p)
		},
	}
}

func problems(err error) []string {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range joined.Unwrap() {
		out = append(out, e.Error())
	}
	return out
}

func TestLoadSeed(t *testing.T) {
	cfg, err := Load("testdata/seed.yaml", testOptions(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, a := range cfg.Adapters {
		names = append(names, a.Name)
	}
	wantNames := []string{"datadog", "github", "mailchimp", "pagerduty", "pagerduty-2"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("adapters = %v, want %v", names, wantNames)
	}
	if cfg.IngressPort != model.DefaultIngressPort || cfg.AdminPort != model.DefaultAdminPort {
		t.Errorf("ports = %d/%d, want defaults", cfg.IngressPort, cfg.AdminPort)
	}
	dd, _ := cfg.Adapter("datadog")
	wantHeaders := []model.Header{{Name: "DD-API-KEY", Value: "dd-api-s3cr3t"}, {Name: "DD-APPLICATION-KEY", Value: "dd-app-s3cr3t"}}
	if !reflect.DeepEqual(dd.Headers, wantHeaders) {
		t.Errorf("datadog headers = %v, want %v", dd.Headers, wantHeaders)
	}
	mc, _ := cfg.Adapter("mailchimp")
	wantUp := model.Upstream{Scheme: "https", Host: "us21.api.mailchimp.com", Port: 443, BasePath: "/3.0"}
	if !reflect.DeepEqual(mc.Upstream, wantUp) || mc.Headers[0].Value != "Basic mc-s3cr3t" {
		t.Errorf("mailchimp = %+v", mc.Upstream)
	}
	if gh, _ := cfg.Adapter("github"); gh.Headers[0].Value != "Token token=ghp_s3cr3t" {
		t.Errorf("github Authorization not expanded")
	}
	wantWarn := []string{`testdata/seed.yaml:71: adapter "analytics-db" has kind Postgres, which this Atlas does not support; it is ignored`}
	if !reflect.DeepEqual(cfg.Warnings, wantWarn) {
		t.Errorf("warnings = %q, want %q", cfg.Warnings, wantWarn)
	}
}

func TestLoadExamples(t *testing.T) {
	tests := []struct {
		name, path string
		adapters   int
	}{
		{"stripe testdata", "testdata/stripe.yaml", 1},
		{"stripe example", "../../examples/stripe/atlas.yml", 1},
		{"moment seed example", "../../examples/moment-seed/atlas.yml", 5},
		{"stripe app testdata", "testdata/stripe-app.yaml", 2},
		{"stripe app example", "../../examples/stripe-app/atlas.yml", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.path, testOptions(nil))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(cfg.Adapters) != tt.adapters {
				t.Fatalf("got %d adapters, want %d", len(cfg.Adapters), tt.adapters)
			}
		})
	}
	t.Run("stripe adapter", func(t *testing.T) {
		cfg, err := Load("testdata/stripe.yaml", testOptions(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := model.Adapter{
			Name:     "stripe",
			Upstream: model.Upstream{Scheme: "https", Host: "api.stripe.com", Port: 443},
			Headers:  []model.Header{{Name: "Authorization", Value: "Bearer sk_test_s3cr3t_4242"}},
			Source:   "testdata/stripe.yaml:18",
		}
		if !reflect.DeepEqual(cfg.Adapters[0], want) {
			t.Errorf("adapter = %+v, want %+v", cfg.Adapters[0], want)
		}
	})
}

func TestLoadTLSAndPorts(t *testing.T) {
	ca := testCAPEM(t)
	cfg, err := Load("testdata/tls.yaml", testOptions(map[string][]byte{"testdata/certs/ca.pem": ca}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.IngressPort != 18082 || cfg.AdminPort != 19000 {
		t.Errorf("ports = %d/%d, want 18082/19000", cfg.IngressPort, cfg.AdminPort)
	}
	want := model.Upstream{Scheme: "https", Host: "2001:db8::1", Port: 8443, BasePath: "/api/v2", CAPEM: ca}
	if len(cfg.Adapters) != 1 || !reflect.DeepEqual(cfg.Adapters[0].Upstream, want) {
		t.Fatalf("adapters = %+v, want one with upstream %+v", cfg.Adapters, want)
	}
	if h := cfg.Adapters[0].Headers; len(h) != 1 || h[0].Value != "internal-s3cr3t" {
		t.Errorf("headers = %v", h)
	}
	wantWarn := []string{`testdata/tls.yaml:22: adapter "unreferenced" is not referenced from spec.apiAdapters, so it is not served; add an adapterRef to serve it`}
	if !reflect.DeepEqual(cfg.Warnings, wantWarn) {
		t.Errorf("warnings = %q, want %q", cfg.Warnings, wantWarn)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", Options{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("err = %v, want a not-exist error naming the file", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each problem, in order, as "line: message prefix"
	}{
		{"unset-var.yaml", []string{`18: adapter "stripe": spec.headers[0].value: environment variable UNSET_VAR is not set; export it`}},
		{"duplicate-adapter.yaml", []string{`17: duplicate adapter name "stripe" (also defined at testdata/errors/duplicate-adapter.yaml:10)`}},
		{"duplicate-header.yaml", []string{`19: adapter "stripe": spec.headers[1]: header "authorization" is set twice (first at testdata/errors/duplicate-header.yaml:17)`}},
		{"header-crlf.yaml", []string{`18: adapter "stripe": spec.headers[0]: header "Authorization" value contains a CR, LF or NUL`}},
		{"header-name-expanded.yaml", []string{`19: adapter "stripe": spec.headers[1]: header name "${{ SPACEY_NAME }}" is not a valid HTTP token`}},
		{"baseurl-query.yaml", []string{`15: adapter "stripe": baseUrl must not contain a query string`}},
		{"baseurl-userinfo.yaml", []string{`15: adapter "stripe": baseUrl must not contain user information`}},
		{"baseurl-scheme.yaml", []string{`15: adapter "stripe": baseUrl scheme "ftp" is not supported`}},
		{"baseurl-relative.yaml", []string{`15: adapter "stripe": baseUrl has no scheme`}},
		{"baseurl-misspelled.yaml", []string{`15: adapter "stripe": spec.baseUrl is missing; set it to the API's URL, e.g. https://api.stripe.com (found "baseURL" at line 15`}},
		{"ref-missing.yaml", []string{`6: adapterRef "ghost" has no matching adapter document`}},
		{"bad-name.yaml", []string{`10: adapter name "Stripe/API" is not a single URL path segment`}},
		{"forbidden-headers.yaml", []string{
			`14: adapter "s": spec.headers[0]: header name ":authority" is an HTTP/2 pseudo-header`,
			`15: adapter "s": spec.headers[1]: header name "Host" cannot be injected`,
			`16: adapter "s": spec.headers[2]: header name "Connection" cannot be injected: it is a hop-by-hop header`,
			`17: adapter "s": spec.headers[3]: header name "transfer-encoding" cannot be injected`,
			`18: adapter "s": spec.headers[4]: header name "Content-Length" cannot be injected`,
			`19: adapter "s": spec.headers[5]: header name "Bad Header" is not a valid HTTP token`,
			`20: adapter "s": spec.headers[6]: header name "X-Envoy-Upstream-Rq-Timeout-Ms" cannot be injected`,
		}},
		{"ports.yaml", []string{
			`5: spec.exposedPorts.ingressHttpPort is "70000"; use a port number between 1 and 65535`,
			`6: spec.exposedPorts.adminPort is "http"; use a port number`,
		}},
		{"syntax.yaml", []string{`4: invalid YAML: `}},
		{"no-kind.yaml", []string{`4: document has no kind`}},
		{"no-atlas.yaml", []string{`1: no Atlas document found`}},
		{"two-atlas.yaml", []string{`4: second Atlas document (the first is at testdata/errors/two-atlas.yaml:1)`}},
		{"http-api-version.yaml", []string{`7: HTTP adapter has apiVersion "moment.dev/adapters/v2"; use moment.dev/adapters/v1alpha1`}},
		{"kind-mismatch.yaml", []string{`5: adapterRef "db" says kind "HTTP" but the document at testdata/errors/kind-mismatch.yaml:7 has kind "Postgres"`}},
		{"many-problems.yaml", []string{
			`6: adapterRef "ghost" has no matching adapter document`,
			`8: spec.exposedPorts.adminPort is "0"`,
			`15: adapter "stripe": baseUrl must not contain a fragment`,
			`18: adapter "stripe": spec.headers[0].value: environment variable MISSING_ONE is not set`,
			`20: adapter "stripe": spec.headers[1].value: environment variable MISSING_TWO is not set`,
			`22: document has no kind`,
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			path := "testdata/errors/" + tt.file
			cfg, err := Load(path, testOptions(nil))
			if err == nil {
				t.Fatalf("Load succeeded with %d adapters, want errors", len(cfg.Adapters))
			}
			got := problems(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], path+":"+w) {
					t.Errorf("problem %d:\n got: %s\nwant: %s:%s…", i, got[i], path, w)
				}
			}
		})
	}
}

// TestNoSecretsInMessages loads every testdata file and checks that no
// error or warning repeats a fake secret (or any part of one).
func TestNoSecretsInMessages(t *testing.T) {
	paths, _ := filepath.Glob("testdata/errors/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, path := range append(paths, more...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, err := Load(path, testOptions(map[string][]byte{"testdata/certs/ca.pem": testCAPEM(t)}))
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
			}
			if cfg != nil {
				msgs = append(msgs, cfg.Warnings...)
			}
			for _, m := range msgs {
				if strings.Contains(m, secretMarker) || strings.Contains(m, "X-Injected") {
					t.Errorf("message leaks a secret: %s", m)
				}
			}
		})
	}
}
