package mom

import (
	"strings"
	"testing"
)

const (
	head    = "apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\n"
	ref     = "  - adapterRef:\n      apiVersion: moment.dev/adapters/v1alpha1\n      kind: HTTP\n      name: s\n"
	newDoc  = "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata:\n  name: s\nspec:\n  baseUrl: https://h\n  headers:\n  - name: A\n    value: Bearer ${{ K }}\n"
	oldDoc  = "---\napiVersion: moment.dev/adapters/v1alpha1\nkind: HTTP\nmetadata:\n  name: old\nspec:\n  baseUrl: https://old\n"
	oldRef  = "  - adapterRef:\n      apiVersion: moment.dev/adapters/v1alpha1\n      kind: HTTP\n      name: old\n"
	wideRef = "    - adapterRef:\n        apiVersion: moment.dev/adapters/v1alpha1\n        kind: HTTP\n        name: s\n"
)

func TestAddHTTPAdapterEdits(t *testing.T) {
	a := newAdapter{name: "s", baseURL: "https://h", headers: []headerFlag{{"A", "Bearer ${{ K }}"}}}
	tests := []struct {
		name, in, want string
	}{
		{"append after last ref",
			head + "spec:\n  apiAdapters:\n" + oldRef + "  exposedPorts: {}\n" + oldDoc,
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + "  exposedPorts: {}\n" + oldDoc + newDoc},
		{"no trailing newline",
			head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc[:len(oldDoc)-1],
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc},
		{"empty flow list with comment",
			head + "spec:\n  apiAdapters: []  # none yet\n  owner: x\n",
			head + "spec:\n  apiAdapters:  # none yet\n" + ref + "  owner: x\n" + newDoc},
		{"null list",
			head + "spec:\n  apiAdapters:\n  owner: x\n",
			head + "spec:\n  apiAdapters:\n" + ref + "  owner: x\n" + newDoc},
		{"missing list",
			head + "spec:\n  exposedPorts: {}\n",
			head + "spec:\n  apiAdapters:\n" + ref + "  exposedPorts: {}\n" + newDoc},
		{"empty spec",
			head + "spec: {}\n",
			head + "spec:\n  apiAdapters:\n" + ref + newDoc},
		{"indented list style",
			head + "spec:\n  apiAdapters:\n    - adapterRef:\n        apiVersion: moment.dev/adapters/v1alpha1\n        kind: HTTP\n        name: old\n  owner: x\n" + oldDoc,
			head + "spec:\n  apiAdapters:\n    - adapterRef:\n        apiVersion: moment.dev/adapters/v1alpha1\n        kind: HTTP\n        name: old\n" + wideRef + "  owner: x\n" + oldDoc + newDoc},
		{"comments and blank lines after the list stay put",
			head + "spec:\n  apiAdapters:\n" + oldRef + "\n  # ports\n  exposedPorts: {}\n" + oldDoc,
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + "\n  # ports\n  exposedPorts: {}\n" + oldDoc + newDoc},
		{"atlas document last",
			oldDoc[4:] + "---\n" + head + "spec:\n  apiAdapters:\n" + oldRef,
			oldDoc[4:] + "---\n" + head + "spec:\n  apiAdapters:\n" + oldRef + ref + newDoc},
		{"trailing separator is reused",
			head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc + "---\n",
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc},
		{"crlf",
			crlf(head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc),
			crlf(head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := addHTTPAdapter([]byte(tt.in), a)
			if err != nil {
				t.Fatalf("addHTTPAdapter: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestAddHTTPAdapterErrors(t *testing.T) {
	a := newAdapter{name: "s", baseURL: "https://h"}
	tests := []struct{ name, in, wantErr string }{
		{"empty file", "\n", "the file is empty"},
		{"no atlas", oldDoc, "no Atlas document found"},
		{"two atlas", head + "---\n" + head, "more than one Atlas document"},
		{"not yaml", head + "spec: [\n", "not valid YAML"},
		{"name is a document", head + oldDoc[:len(oldDoc)-len("old\nspec:\n  baseUrl: https://old\n")] + "s\n", `adapter "s" already exists (document at line 7)`},
		{"name is a ref", head + "spec:\n  apiAdapters:\n" + ref, `adapter "s" already exists (adapterRef at line 8)`},
		{"flow list", head + "spec:\n  apiAdapters: [{adapterRef: {name: x}}]\n", "flow list"},
		{"flow spec", head + "spec: {owner: x}\n", "not a block mapping"},
		{"no spec", head, "has no spec"},
		{"scalar list", head + "spec:\n  apiAdapters: yes\n", "spec.apiAdapters is not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := addHTTPAdapter([]byte(tt.in), a)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestYAMLScalar(t *testing.T) {
	tests := map[string]string{
		"stripe":                       "stripe",
		"https://api.stripe.com":       "https://api.stripe.com",
		"Bearer ${{ STRIPE_API_KEY }}": "Bearer ${{ STRIPE_API_KEY }}",
		"Token token=${{ T }}":         "Token token=${{ T }}",
		"123":                          `"123"`,
		"true":                         `"true"`,
		"a: b":                         `'a: b'`,
		"{x}":                          `'{x}'`,
		"# c":                          `'# c'`,
		" lead":                        `' lead'`,
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := yamlScalar(in); got != want {
				t.Errorf("yamlScalar(%q) = %s, want %s", in, got, want)
			}
		})
	}
}
