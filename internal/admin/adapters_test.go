package admin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/testpki"
)

func stripeAdapter() *adminv1.Adapter {
	return &adminv1.Adapter{
		Name:    "stripe",
		BaseUrl: "https://api.stripe.com",
		Headers: []*adminv1.Header{
			{Name: "Authorization", ValueTemplate: "Bearer ${{ secret:STRIPE_KEY }}"},
			{Name: "Stripe-Version", ValueTemplate: "2024-06-20"},
		},
	}
}

func TestAdapterLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.adapters()
	if _, err := e.secretsClient().SetSecret(ctx, &adminv1.SetSecretRequest{Name: "STRIPE_KEY", Value: []byte(stripeKeyValue)}); err != nil {
		t.Fatal(err)
	}
	ca := string(testCA(t))
	want := stripeAdapter()
	want.Tls = &adminv1.UpstreamTls{CaPem: ca}
	storedAt := timestamppb.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))

	t.Run("apply creates", func(t *testing.T) {
		in := stripeAdapter()
		in.Tls = &adminv1.UpstreamTls{CaPem: ca}
		in.Source = adminv1.AdapterSource_ADAPTER_SOURCE_FILE // output only: ignored
		resp, err := c.ApplyAdapter(ctx, &adminv1.ApplyAdapterRequest{Adapter: in})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetCreated() || resp.GetAdapter().GetUpdateTime() == nil {
			t.Errorf("created = %v, update_time = %v", resp.GetCreated(), resp.GetAdapter().GetUpdateTime())
		}
		resp.Adapter.UpdateTime = nil
		w := copyAdapter(want)
		w.Source = adminv1.AdapterSource_ADAPTER_SOURCE_API
		diffProto(t, resp.GetAdapter(), w)
	})
	t.Run("stored as a Moment HTTP document", func(t *testing.T) {
		a, _ := e.store.adapter("stripe")
		got := string(a.Document)
		for _, line := range []string{"apiVersion: moment.dev/adapters/v1alpha1\n", "kind: HTTP\n", "metadata:\n  name: stripe\n",
			"  baseUrl: https://api.stripe.com\n", "  - name: Authorization\n    value: Bearer ${{ secret:STRIPE_KEY }}\n",
			"    value: \"2024-06-20\"\n", "  tls:\n    caPem: |\n      -----BEGIN CERTIFICATE-----\n"} {
			if !strings.Contains(got, line) {
				t.Errorf("document lacks %q:\n%s", line, got)
			}
		}
	})
	e.store.setUpdatedAt("stripe", storedAt.AsTime())

	t.Run("get", func(t *testing.T) {
		resp, err := c.GetAdapter(ctx, &adminv1.GetAdapterRequest{Name: "stripe"})
		if err != nil {
			t.Fatal(err)
		}
		w := copyAdapter(want)
		w.Source, w.UpdateTime = adminv1.AdapterSource_ADAPTER_SOURCE_API, storedAt
		diffProto(t, resp.GetAdapter(), w)
	})
	t.Run("get file adapter", func(t *testing.T) {
		resp, err := c.GetAdapter(ctx, &adminv1.GetAdapterRequest{Name: "filed"})
		if err != nil {
			t.Fatal(err)
		}
		diffProto(t, resp.GetAdapter(), fileAdapterWant())
	})
	t.Run("list", func(t *testing.T) {
		resp, err := c.ListAdapters(ctx, &adminv1.ListAdaptersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		w := copyAdapter(want)
		w.Source, w.UpdateTime = adminv1.AdapterSource_ADAPTER_SOURCE_API, storedAt
		diffProto(t, resp, &adminv1.ListAdaptersResponse{Adapters: []*adminv1.Adapter{fileAdapterWant(), w}})
	})
	t.Run("apply replaces whole", func(t *testing.T) {
		resp, err := c.ApplyAdapter(ctx, &adminv1.ApplyAdapterRequest{Adapter: &adminv1.Adapter{Name: "stripe", BaseUrl: "https://api.stripe.com/v2"}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCreated() {
			t.Error("created = true for an existing adapter")
		}
		if got := resp.GetAdapter(); len(got.GetHeaders()) != 0 || got.GetTls() != nil || got.GetBaseUrl() != "https://api.stripe.com/v2" {
			t.Errorf("adapter = %v, want the old headers and tls cleared", got)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeleteAdapter(ctx, &adminv1.DeleteAdapterRequest{Name: "stripe"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetAdapter(ctx, &adminv1.GetAdapterRequest{Name: "stripe"})
		wantStatus(t, err, codes.NotFound, `adapter "stripe" does not exist`)
	})
	if logs := e.logs.String(); !strings.Contains(logs, "adapter applied") || !strings.Contains(logs, "adapter deleted") {
		t.Errorf("changes are not logged:\n%s", logs)
	}
}

func fileAdapterWant() *adminv1.Adapter {
	return &adminv1.Adapter{
		Name: "filed", BaseUrl: "https://api.example.com", Source: adminv1.AdapterSource_ADAPTER_SOURCE_FILE,
		Headers:    []*adminv1.Header{{Name: "Authorization", ValueTemplate: "Bearer ${{ secret:FILE_KEY }}"}},
		UpdateTime: timestamppb.New(fileLoadedAt),
	}
}

// copyAdapter copies an adapter so that subtests can change their own want.
func copyAdapter(a *adminv1.Adapter) *adminv1.Adapter {
	return &adminv1.Adapter{Name: a.Name, BaseUrl: a.BaseUrl, Headers: a.Headers, Tls: a.Tls, Source: a.Source, UpdateTime: a.UpdateTime}
}

func TestApplyAdapterInvalid(t *testing.T) {
	e := newEnv(t)
	c := e.adapters()
	withHeader := func(name, value string) *adminv1.Adapter {
		a := stripeAdapter()
		a.Headers = []*adminv1.Header{{Name: name, ValueTemplate: value}}
		return a
	}
	withURL := func(u string) *adminv1.Adapter { a := stripeAdapter(); a.Headers = nil; a.BaseUrl = u; return a }
	withCA := func(u, ca string) *adminv1.Adapter {
		a := withURL(u)
		a.Tls = &adminv1.UpstreamTls{CaPem: ca}
		return a
	}
	tests := []struct {
		name    string
		adapter *adminv1.Adapter
		want    [][2]string
	}{
		{"no adapter", nil, [][2]string{{"adapter", "is missing"}}},
		{"empty name", &adminv1.Adapter{BaseUrl: "https://h"}, [][2]string{{"adapter.name", "adapter name is empty"}}},
		{"bad name", &adminv1.Adapter{Name: "Bad/Name", BaseUrl: "https://h"}, [][2]string{{"adapter.name", "is not a single URL path segment"}}},
		{"missing base url", withURL(""), [][2]string{{"adapter.base_url", "spec.baseUrl is empty"}}},
		{"bad url scheme", withURL("ftp://h"), [][2]string{{"adapter.base_url", `baseUrl scheme "ftp" is not supported`}}},
		{"credentials in url", withURL("https://u:" + stripeKeyValue + "@h"), [][2]string{{"adapter.base_url", "must not contain user information"}}},
		{"CR LF in header value", withHeader("X-Key", stripeKeyValue+"\r\nX-Evil: 1"), [][2]string{{"adapter.headers[0].value_template", "contains a CR, LF or NUL"}}},
		{"CR LF in header name", withHeader("X-Key\r\nX-Evil", "v"), [][2]string{{"adapter.headers[0].name", "is not a valid HTTP token"}}},
		{"forbidden header", withHeader("Host", "h"), [][2]string{{"adapter.headers[0].name", "cannot be injected"}}},
		{"empty header value", withHeader("X-Key", ""), [][2]string{{"adapter.headers[0].value_template", "value is empty"}}},
		{"unknown secret", withHeader("Authorization", "Bearer ${{ secret:NOPE }}"), [][2]string{{"adapter.headers[0].value_template", "stored secret NOPE does not exist; create it with `mom atlas secrets set NOPE`"}}},
		{"unset environment variable", withHeader("Authorization", "Bearer ${{ NOPE_ENV }}"), [][2]string{{"adapter.headers[0].value_template", "environment variable NOPE_ENV is not set"}}},
		{"ca not pem", withCA("https://h", "hello"), [][2]string{{"adapter.tls.ca_pem", "contains no PEM CERTIFICATE block"}}},
		{"ca on http", withCA("http://h", string(testCA(t))), [][2]string{{"adapter.tls.ca_pem", "baseUrl uses http://"}}},
		{"every problem reported", &adminv1.Adapter{Name: "two", BaseUrl: "ftp://h", Headers: []*adminv1.Header{{Name: "A", ValueTemplate: "${{ secret:NOPE }}"}, {Name: ":path", ValueTemplate: "x"}}},
			[][2]string{{"adapter.base_url", "not supported"}, {"adapter.headers[0].value_template", "NOPE does not exist"}, {"adapter.headers[1].name", "pseudo-header"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ApplyAdapter(t.Context(), &adminv1.ApplyAdapterRequest{Adapter: tt.adapter})
			wantViolations(t, err, tt.want...)
			if n := e.store.adapterCount(); n != 0 {
				t.Errorf("an invalid adapter was stored (%d adapters)", n)
			}
		})
	}
	t.Run("file adapter is read-only", func(t *testing.T) {
		_, err := c.ApplyAdapter(t.Context(), &adminv1.ApplyAdapterRequest{Adapter: &adminv1.Adapter{Name: "filed", BaseUrl: "https://h"}})
		wantStatus(t, err, codes.FailedPrecondition, `adapter "filed" is defined in the configuration file at atlas.yml:10`, "edit that file")
	})
	t.Run("store failure", func(t *testing.T) {
		e.store.fail(errors.New("disk on fire"))
		defer e.store.fail(nil)
		_, err := c.ApplyAdapter(t.Context(), &adminv1.ApplyAdapterRequest{Adapter: &adminv1.Adapter{Name: "x", BaseUrl: "https://h"}})
		wantStatus(t, err, codes.Unavailable, "the store failed", "retry")
	})
}

func TestGetDeleteAdapterInvalid(t *testing.T) {
	e := newEnv(t)
	c := e.adapters()
	tests := []struct {
		name string
		call func(name string) error
	}{
		{"get", func(n string) error {
			_, err := c.GetAdapter(t.Context(), &adminv1.GetAdapterRequest{Name: n})
			return err
		}},
		{"delete", func(n string) error {
			_, err := c.DeleteAdapter(t.Context(), &adminv1.DeleteAdapterRequest{Name: n})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" empty name", func(t *testing.T) {
			wantViolations(t, tt.call(""), [2]string{"name", "adapter name is empty"})
		})
		t.Run(tt.name+" bad name", func(t *testing.T) {
			wantViolations(t, tt.call("a b"), [2]string{"name", "not a single URL path segment"})
		})
		t.Run(tt.name+" unknown", func(t *testing.T) {
			wantStatus(t, tt.call("nope"), codes.NotFound, `adapter "nope" does not exist`, "mom atlas adapters list")
		})
	}
	t.Run("delete file adapter", func(t *testing.T) {
		_, err := c.DeleteAdapter(t.Context(), &adminv1.DeleteAdapterRequest{Name: "filed"})
		wantStatus(t, err, codes.FailedPrecondition, "atlas.yml:10")
	})
}

// testCA returns a fresh self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	return testpki.NewCA(t, "admin test CA").PEM()
}
