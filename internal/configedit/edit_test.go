package configedit

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
	a := Adapter{Name: "s", BaseURL: "https://h", Headers: [][2]string{{"A", "Bearer ${{ K }}"}}}
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
			got, err := AddHTTPAdapter([]byte(tt.in), a)
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
	a := Adapter{Name: "s", BaseURL: "https://h"}
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
			_, err := AddHTTPAdapter([]byte(tt.in), a)
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

func TestAddAdapterDocument(t *testing.T) {
	doc := newDoc[len("---\n"):]
	tests := []struct {
		name, in, doc, want string
	}{
		{"appends ref and document",
			head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc,
			doc,
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc},
		{"leading separator and missing newline",
			head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc,
			"---\n" + strings.TrimSuffix(doc, "\n"),
			head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc},
		{"crlf file gets a crlf document",
			crlf(head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc),
			doc,
			crlf(head + "spec:\n  apiAdapters:\n" + oldRef + ref + oldDoc + newDoc)},
		{"comments in the document are kept",
			head + "spec: {}\n",
			"# from the API\n" + doc,
			head + "spec:\n  apiAdapters:\n" + ref + "---\n# from the API\n" + doc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AddAdapterDocument([]byte(tt.in), "s", []byte(tt.doc))
			if err != nil {
				t.Fatalf("AddAdapterDocument: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestAddAdapterDocumentErrors(t *testing.T) {
	in := head + "spec:\n  apiAdapters:\n" + oldRef + oldDoc
	tests := []struct{ name, adapter, doc, wantErr string }{
		{"empty document", "s", "\n", "the document is empty"},
		{"empty name", "", newDoc, "the adapter name is empty"},
		{"name already in the file", "old", oldDoc, `adapter "old" already exists`},
		{"document names another adapter", "s", oldDoc[4:], `the document's metadata.name must be "s"`},
		{"two documents", "s", newDoc + oldDoc, "holds 2 YAML documents"},
		{"not yaml", "s", "a: [\n", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AddAdapterDocument([]byte(in), tt.adapter, []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
