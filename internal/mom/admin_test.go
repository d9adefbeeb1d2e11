package mom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// protoDiff is the one place tests compare protos; output-only times are
// ignored.
func protoDiff(t *testing.T, want, got proto.Message) {
	t.Helper()
	opts := cmp.Options{protocmp.Transform(), protocmp.IgnoreFields(&adminv1.Adapter{}, "update_time")}
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
}

// fields splits table output into the whitespace-separated fields of each line.
func fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func wantFields(t *testing.T, out string, want [][]string) {
	t.Helper()
	if d := cmp.Diff(want, fields(out)); d != "" {
		t.Errorf("table -want +got:\n%s\noutput:\n%s", d, out)
	}
}

// decode parses -o json output into m, failing on anything but one document.
func decode(t *testing.T, out string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("stdout is not one %T JSON document: %v\n%s", m, err, out)
	}
}

func mustOK(t *testing.T, code int, stderr string) {
	t.Helper()
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func stripe() *adminv1.Adapter {
	return &adminv1.Adapter{
		Name: "stripe", BaseUrl: "https://api.stripe.com", Source: adminv1.AdapterSource_ADAPTER_SOURCE_API,
		Headers:    []*adminv1.Header{{Name: "Authorization", ValueTemplate: "Bearer ${{ secret:STRIPE_API_KEY }}"}},
		UpdateTime: ago(5*time.Minute + 30*time.Second),
	}
}

func TestAdminAdaptersListAndGet(t *testing.T) {
	f := startFakeAdmin(t)
	f.adapters["stripe"] = stripe()
	f.adapters["internal"] = &adminv1.Adapter{Name: "internal", BaseUrl: "http://10.0.0.1:8080", Source: adminv1.AdapterSource_ADAPTER_SOURCE_FILE, UpdateTime: ago(50 * time.Hour)}

	t.Run("list table", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "list")
		mustOK(t, code, stderr)
		wantFields(t, stdout, [][]string{
			{"NAME", "SOURCE", "BASE", "URL", "HEADERS", "UPDATED"},
			{"internal", "file", "http://10.0.0.1:8080", "-", "2d"},
			{"stripe", "api", "https://api.stripe.com", "Authorization", "5m"},
		})
		if strings.Contains(stdout, "secret:") {
			t.Errorf("the list shows header values:\n%s", stdout)
		}
	})
	t.Run("list json", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "list", "-o", "json")
		mustOK(t, code, stderr)
		var got adminv1.ListAdaptersResponse
		decode(t, stdout, &got)
		protoDiff(t, &adminv1.ListAdaptersResponse{Adapters: []*adminv1.Adapter{f.adapters["internal"], f.adapters["stripe"]}}, &got)
	})
	t.Run("get table", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "get", "stripe")
		mustOK(t, code, stderr)
		for _, want := range []string{"Name:      stripe\n", "Source:    api\n", "Base URL:  https://api.stripe.com\n", "TLS:       system trust store\n", "  Authorization: Bearer ${{ secret:STRIPE_API_KEY }}\n", "(5m ago)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("get json", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "get", "-o", "json", "stripe")
		mustOK(t, code, stderr)
		var got adminv1.GetAdapterResponse
		decode(t, stdout, &got)
		protoDiff(t, &adminv1.GetAdapterResponse{Adapter: stripe()}, &got)
	})
	t.Run("get missing", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "get", "nope")
		if code != 1 || stdout != "" || stderr != "mom: get adapter \"nope\": adapter \"nope\" does not exist\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestAdminAdaptersApply(t *testing.T) {
	f := startFakeAdmin(t)
	dir := t.TempDir()
	ca := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	write(t, filepath.Join(dir, "ca.pem"), ca)
	file := filepath.Join(dir, "adapters.yml")
	write(t, file, `apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: stripe
spec:
  baseUrl: https://api.stripe.com
  headers:
  - name: Authorization
    value: Bearer ${{ secret:STRIPE_API_KEY }}
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: internal
spec:
  baseUrl: https://internal.example
  tls:
    caFile: ca.pem
`)
	wantInternal := &adminv1.Adapter{Name: "internal", BaseUrl: "https://internal.example", Source: adminv1.AdapterSource_ADAPTER_SOURCE_API, Tls: &adminv1.UpstreamTls{CaPem: ca}}

	code, stdout, stderr := f.run(t, "", "atlas", "adapters", "apply", "-f", file)
	mustOK(t, code, stderr)
	if want := "Adapter \"stripe\" created: /v1/apis/http/stripe/… now goes to https://api.stripe.com\nAdapter \"internal\" created: /v1/apis/http/internal/… now goes to https://internal.example\n"; stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	protoDiff(t, stripe(), f.adapters["stripe"])
	protoDiff(t, wantInternal, f.adapters["internal"])

	t.Run("again as json", func(t *testing.T) {
		code, stdout, stderr := f.run(t, "", "atlas", "adapters", "apply", "-o", "json", "-f", file)
		mustOK(t, code, stderr)
		var got struct{ Results []json.RawMessage }
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got.Results) != 2 {
			t.Fatalf("want {\"results\": [2 items]}, got %v:\n%s", err, stdout)
		}
		var first adminv1.ApplyAdapterResponse
		decode(t, string(got.Results[0]), &first)
		protoDiff(t, &adminv1.ApplyAdapterResponse{Adapter: stripe(), Created: false}, &first)
	})
	t.Run("from stdin", func(t *testing.T) {
		doc := "kind: HTTP\nmetadata: {name: piped}\nspec: {baseUrl: 'https://piped.example'}\n"
		code, stdout, stderr := f.run(t, doc, "atlas", "adapters", "apply", "-f", "-")
		mustOK(t, code, stderr)
		if !strings.Contains(stdout, `Adapter "piped" created`) || f.adapters["piped"] == nil {
			t.Errorf("stdout %q; stored %v", stdout, f.adapters["piped"])
		}
	})
}

func TestAdminAdaptersApplyRejected(t *testing.T) {
	f := startFakeAdmin(t)
	f.adapters["filed"] = &adminv1.Adapter{Name: "filed", Source: adminv1.AdapterSource_ADAPTER_SOURCE_FILE}
	doc := func(name string) string {
		return "kind: HTTP\nmetadata:\n  name: " + name + "\nspec:\n  baseUrl: ftp://x\n"
	}
	tests := []struct {
		name, file, stderr string
	}{
		{"invalid argument: one line per field violation", doc("bad"),
			"mom: apply adapter \"bad\": invalid adapter \"bad\":\n  adapter.base_url: must be an http or https URL\n  adapter.headers[0].name: Host cannot be injected\n"},
		{"failed precondition: the server's message", doc("filed"),
			"mom: apply adapter \"filed\": adapter \"filed\" comes from the configuration file; edit the file instead\n"},
		{"a later document fails: says what was applied", doc("good") + "---\n" + doc("bad"),
			"  adapter.headers[0].name: Host cannot be injected\n(already applied: good; not applied: bad)\n"},
		{"file problems: nothing sent", "kind: Atlas\n---\nkind: HTTP\nspec: {headers: 3}\n",
			"mom: FILE:1: kind \"Atlas\": `mom atlas adapters apply` takes only adapter documents of kind HTTP (the Atlas document and StripeApps stay in the server's configuration file)\nFILE:4: cannot unmarshal !!int `3`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "a.yml")
			write(t, file, tt.file)
			calls := f.callCount()
			code, _, stderr := f.run(t, "", "atlas", "adapters", "apply", "-f", file)
			want := strings.ReplaceAll(tt.stderr, "FILE", file)
			if code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant it to contain:\n%s", code, stderr, want)
			}
			if strings.HasPrefix(tt.name, "file problems") && f.callCount() != calls {
				t.Errorf("an RPC was sent for an invalid file")
			}
		})
	}
}

func TestAdminAdaptersDelete(t *testing.T) {
	f := startFakeAdmin(t)
	f.adapters["stripe"], f.adapters["other"] = stripe(), stripe()
	code, stdout, stderr := f.run(t, "", "atlas", "adapters", "delete", "stripe")
	mustOK(t, code, stderr)
	if stdout != "Adapter \"stripe\" deleted.\n" || f.adapters["stripe"] != nil {
		t.Errorf("stdout %q, still stored: %v", stdout, f.adapters["stripe"] != nil)
	}
	code, stdout, stderr = f.run(t, "", "atlas", "adapters", "delete", "other", "-o", "json")
	mustOK(t, code, stderr)
	decode(t, stdout, &adminv1.DeleteAdapterResponse{})
	code, _, stderr = f.run(t, "", "atlas", "adapters", "delete", "stripe")
	if code != 1 || stderr != "mom: delete adapter \"stripe\": adapter \"stripe\" does not exist\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
