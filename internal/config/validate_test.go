package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/model"
)

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		name, raw string
		want      model.Upstream
		wantErr   string
	}{
		{"https default port", "https://api.stripe.com", model.Upstream{Scheme: "https", Host: "api.stripe.com", Port: 443}, ""},
		{"http default port", "http://localhost", model.Upstream{Scheme: "http", Host: "localhost", Port: 80}, ""},
		{"explicit port and path", "HTTPS://API.Example.com:8443/v1/", model.Upstream{Scheme: "https", Host: "api.example.com", Port: 8443, BasePath: "/v1"}, ""},
		{"ipv6", "http://[::1]:12111", model.Upstream{Scheme: "http", Host: "::1", Port: 12111}, ""},
		{"root path", "https://h/", model.Upstream{Scheme: "https", Host: "h", Port: 443}, ""},
		{"escaped path", "https://h/a%20b", model.Upstream{Scheme: "https", Host: "h", Port: 443, BasePath: "/a%20b"}, ""},
		{"no scheme", "api.stripe.com", model.Upstream{}, "no scheme"},
		{"ftp", "ftp://h", model.Upstream{}, `scheme "ftp" is not supported`},
		{"no host", "https:///v1", model.Upstream{}, "no host"},
		{"opaque", "https:h", model.Upstream{}, "not absolute"},
		{"userinfo", "https://user:pw@h", model.Upstream{}, "user information"},
		{"query", "https://h/?a=b", model.Upstream{}, "query string"},
		{"empty query", "https://h/?", model.Upstream{}, "query string"},
		{"fragment", "https://h/#x", model.Upstream{}, "fragment"},
		{"port zero", "https://h:0", model.Upstream{}, "between 1 and 65535"},
		{"port too big", "https://h:65536", model.Upstream{}, "between 1 and 65535"},
		{"empty port", "https://h:", model.Upstream{}, "empty port"},
		{"dot segment", "https://h/a/../b", model.Upstream{}, ". or .. segments"},
		{"zone", "http://[fe80::1%25eth0]", model.Upstream{}, "zone"},
		{"space", "https://h st", model.Upstream{}, "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBaseURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	t.Run("credentials never echoed", func(t *testing.T) {
		for _, raw := range []string{"https://u:s3cr3t@h", "https://u:s3cr3t@h st", "https://h/%zzs3cr3t"} {
			if _, err := ParseBaseURL(raw); err == nil || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("ParseBaseURL(%q) = %v", raw, err)
			}
		}
	})
}

func TestValidateAdapterName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"stripe", true}, {"pagerduty-2", true}, {"a", true}, {"v1.api_x", true},
		{"", false}, {"Stripe", false}, {"-a", false}, {"a-", false}, {"a/b", false},
		{"..", false}, {"a b", false}, {strings.Repeat("a", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateAdapterName(tt.name); (err == nil) != tt.ok {
				t.Errorf("ValidateAdapterName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestValidateHeader(t *testing.T) {
	names := map[string]bool{"Authorization": true, "DD-API-KEY": true, "X_y~1": true,
		"": false, "a b": false, "a:b": false, ":path": false, "HOST": false, "TE": false, "x-envoy-foo": false}
	for n, ok := range names {
		t.Run("name "+n, func(t *testing.T) {
			if err := ValidateHeaderName(n); (err == nil) != ok {
				t.Errorf("ValidateHeaderName(%q) = %v, want ok=%v", n, err, ok)
			}
		})
	}
	values := map[string]bool{"Bearer sk": true, "a\tb": true, "Token token=x": true,
		"": false, "a\rb": false, "a\nb": false, "a\x00b": false, "a\x01": false, "a\x7f": false}
	for v, ok := range values {
		t.Run("value "+strings.ToValidUTF8(v, "?"), func(t *testing.T) {
			err := ValidateHeaderValue(v)
			if (err == nil) != ok {
				t.Errorf("ValidateHeaderValue(%q) = %v, want ok=%v", v, err, ok)
			}
			if err != nil && v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("error repeats the value: %v", err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "1", "B_2": "two", "LOOP": "${{ A }}"}[k]
		return v, ok
	}
	tests := []struct{ name, in, want, wantErr string }{
		{"no reference", "plain", "plain", ""},
		{"spaces", "x${{ A }}y", "x1y", ""},
		{"no spaces", "${{A}}${{B_2}}", "1two", ""},
		{"many spaces", "${{   B_2\t}}", "two", ""},
		{"not re-expanded", "${{ LOOP }}", "${{ A }}", ""},
		{"single brace is literal", "${A} {{ A }}", "${A} {{ A }}", ""},
		{"unset", "${{ NOPE }}", "", "NOPE is not set"},
		{"unclosed", "${{ A", "", "not closed"},
		{"bad name", "${{ a-b }}", "", "valid environment variable"},
		{"empty", "${{ }}", "", "valid environment variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := expand(tt.in, env)
			if tt.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr) {
					t.Fatalf("errs = %v, want one containing %q", errs, tt.wantErr)
				}
				return
			}
			if len(errs) != 0 || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, errs, tt.want)
			}
		})
	}
}

func TestCheckCABundle(t *testing.T) {
	ca := testCAPEM(t)
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"one cert", ca, ""},
		{"two certs", append(append([]byte{}, ca...), ca...), ""},
		{"empty", nil, "no PEM CERTIFICATE"},
		{"not pem", []byte("hello"), "no PEM CERTIFICATE"},
		{"private key", []byte("-----BEGIN PRIVATE KEY-----\nczNjcjN0\n-----END PRIVATE KEY-----\n"), `"PRIVATE KEY" PEM block`},
		{"garbage cert", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCABundle(tt.data)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
