// Package configedit edits an Atlas configuration file as text: it adds an
// adapter (an adapterRef in spec.apiAdapters and an adapter document at the
// end) at positions yaml.v3 reports, so every other byte — comments, key
// order, quoting, ${{ }} references — stays as it was. Callers validate the
// adapter itself (config.ValidateAdapterName and friends); this package only
// refuses edits it cannot make cleanly, such as a name already in the file.
package configedit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/config"
)

// Adapter is an HTTP adapter to add. Values are written as given:
// ${{ NAME }} references stay literal. Headers are {name, value} pairs.
type Adapter struct {
	Name, BaseURL string
	Headers       [][2]string
}

// edit replaces del bytes at offset at of the original file with text.
type edit struct {
	at, del int
	text    string
}

// AddHTTPAdapter returns src with one adapterRef appended to the Atlas
// document's spec.apiAdapters and one HTTP document, formatted like
// Moment's, appended at the end.
func AddHTTPAdapter(src []byte, a Adapter) ([]byte, error) {
	return addDocument(src, a.Name, func(f *file) string { return f.documentText(a) })
}

// AddAdapterDocument is AddHTTPAdapter with the adapter document given as
// raw YAML (one document of kind HTTP whose metadata.name is name), which is
// appended as is, in the file's line endings.
func AddAdapterDocument(src []byte, name string, document []byte) ([]byte, error) {
	if err := checkDocument(name, document); err != nil {
		return nil, err
	}
	return addDocument(src, name, func(f *file) string { return f.rawDocumentText(document) })
}

// checkDocument checks that document is one YAML document naming name, so
// that a wrong input is reported as such rather than as a failed edit.
func checkDocument(name string, document []byte) error {
	if name == "" {
		return errors.New("the adapter name is empty; give one")
	}
	if len(bytes.TrimSpace(document)) == 0 {
		return fmt.Errorf("adapter %q: the document is empty; give its kind: HTTP YAML document", name)
	}
	docs, err := decodeAll(document)
	if err != nil {
		return fmt.Errorf("adapter %q: %w", name, err)
	}
	if len(docs) != 1 {
		return fmt.Errorf("adapter %q: the document holds %d YAML documents; give exactly one", name, len(docs))
	}
	got := lookup(lookup(resolve(docs[0].Content[0]), "metadata"), "name")
	if got == nil || got.Kind != yaml.ScalarNode || got.Value != name {
		return fmt.Errorf("adapter %q: the document's metadata.name must be %q", name, name)
	}
	return nil
}

// addDocument adds the adapterRef for name and the document text returns.
func addDocument(src []byte, name string, text func(*file) string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("the adapter name is empty; give one")
	}
	f, err := scanFile(src)
	if err != nil {
		return nil, err
	}
	src = f.src // with a final newline
	if line, ok := f.docs[name]; ok {
		return nil, fmt.Errorf("adapter %q already exists (document at line %d); choose another name or edit that adapter", name, line)
	}
	if line, ok := f.refs[name]; ok {
		return nil, fmt.Errorf("adapter %q already exists (adapterRef at line %d); choose another name or edit that adapter", name, line)
	}
	ref, err := f.refEdit(name)
	if err != nil {
		return nil, err
	}
	out := applyEdits(src, []edit{ref, {at: len(src), text: text(f)}})
	if err := checkEdit(src, out, name); err != nil {
		return nil, fmt.Errorf("the edited file would be wrong, so it was not written (please report this): %w", err)
	}
	return out, nil
}

// applyEdits applies non-overlapping edits given in ascending offset order.
func applyEdits(src []byte, edits []edit) []byte {
	var b bytes.Buffer
	prev := 0
	for _, e := range edits {
		b.Write(src[prev:e.at])
		b.WriteString(e.text)
		prev = e.at + e.del
	}
	b.Write(src[prev:])
	return b.Bytes()
}

// refEdit returns the edit that adds the new adapterRef.
func (f *file) refEdit(name string) (edit, error) {
	specKey, spec := lookupKey(f.atlas, "spec")
	switch {
	case specKey == nil:
		return edit{}, fmt.Errorf("the Atlas document (line %d) has no spec; add `spec:` with `apiAdapters:` to it", f.atlas.Line)
	case isNull(spec) || (spec.Kind == yaml.MappingNode && len(spec.Content) == 0 && spec.Style&yaml.FlowStyle != 0):
		ind := specKey.Column - 1 + 2
		return f.replaceEmptyValue(specKey, f.apiAdaptersKey(ind)+f.refText(name, ind, ind+2, ind+4))
	case spec.Kind != yaml.MappingNode || spec.Style&yaml.FlowStyle != 0:
		return edit{}, fmt.Errorf("line %d: the Atlas spec is not a block mapping; rewrite it in block style (one key per line) first", spec.Line)
	}
	key, list := lookupKey(spec, "apiAdapters")
	switch {
	case key == nil:
		// Insert the key before the spec's first key, at the same indentation.
		ind := spec.Column - 1
		return edit{at: f.lineStart(spec.Line), text: f.apiAdaptersKey(ind) + f.refText(name, ind, ind+2, ind+4)}, nil
	case isNull(list) || (list.Kind == yaml.SequenceNode && len(list.Content) == 0 && list.Style&yaml.FlowStyle != 0):
		ind := key.Column - 1
		return f.replaceEmptyValue(key, f.refText(name, ind, ind+2, ind+4))
	case list.Kind != yaml.SequenceNode:
		return edit{}, fmt.Errorf("line %d: spec.apiAdapters is not a list; fix it first", list.Line)
	case list.Style&yaml.FlowStyle != 0:
		return edit{}, fmt.Errorf("line %d: spec.apiAdapters is a flow list ([…]); rewrite it as a block list (`- adapterRef:` lines) first", list.Line)
	}
	dash := list.Column - 1
	keyCol, inner := dash+2, dash+4
	if last := resolve(list.Content[len(list.Content)-1]); last != nil && last.Kind == yaml.MappingNode && last.Style&yaml.FlowStyle == 0 {
		keyCol, inner = last.Column-1, last.Column-1+2
		if ref := lookup(last, "adapterRef"); ref != nil && ref.Kind == yaml.MappingNode && ref.Style&yaml.FlowStyle == 0 {
			inner = ref.Column - 1
		}
	}
	end := f.itemEnd(list.Content[len(list.Content)-1].Line, dash)
	return edit{at: f.lineStart(end + 1), text: f.refText(name, dash, keyCol, inner)}, nil
}

// replaceEmptyValue handles `key:`, `key: []`, `key: {}` and `key: ~`: the
// value is dropped from the key line (a trailing comment stays) and body
// follows that line.
func (f *file) replaceEmptyValue(key *yaml.Node, body string) (edit, error) {
	line := f.line(key.Line)
	colon := key.Column - 1 + len(key.Value)
	if colon >= len(line) || line[colon] != ':' {
		return edit{}, fmt.Errorf("line %d: cannot edit `%s:` written this way; write it as a plain key", key.Line, key.Value)
	}
	rest, comment := line[colon+1:], ""
	if i := strings.Index(rest, "#"); i >= 0 {
		// Keep the comment and the spaces before it as they were.
		j := len(strings.TrimRight(rest[:i], " \t"))
		rest, comment = rest[:j], rest[j:]
	}
	rest = strings.TrimSpace(rest)
	switch rest {
	case "", "[]", "{}", "~", "null", "Null", "NULL":
	default:
		return edit{}, fmt.Errorf("line %d: cannot edit the value of %s (%s); write it in block style first", key.Line, key.Value, rest)
	}
	start, end := f.lineStart(key.Line), f.lineStart(key.Line+1)
	text := line[:colon+1] + comment + f.nl + body
	return edit{at: start, del: end - start, text: text}, nil
}

func (f *file) apiAdaptersKey(ind int) string {
	return strings.Repeat(" ", ind) + "apiAdapters:" + f.nl
}

// refText is one `- adapterRef:` list entry: the dash at column dash, the
// adapterRef key at keyCol and its fields at inner.
func (f *file) refText(name string, dash, keyCol, inner int) string {
	if keyCol <= dash {
		keyCol = dash + 2
	}
	if inner <= keyCol {
		inner = keyCol + 2
	}
	pad := strings.Repeat(" ", inner)
	return strings.Repeat(" ", dash) + "-" + strings.Repeat(" ", keyCol-dash-1) + "adapterRef:" + f.nl +
		pad + "apiVersion: " + config.AdapterAPIVersion + f.nl +
		pad + "kind: " + config.KindHTTP + f.nl +
		pad + "name: " + yamlScalar(name) + f.nl
}

// documentText is the new HTTP adapter document, formatted like Moment's.
func (f *file) documentText(a Adapter) string {
	var b strings.Builder
	b.WriteString(f.separator())
	for _, l := range []string{
		"apiVersion: " + config.AdapterAPIVersion,
		"kind: " + config.KindHTTP,
		"metadata:",
		"  name: " + yamlScalar(a.Name),
		"spec:",
		"  baseUrl: " + yamlScalar(a.BaseURL),
	} {
		b.WriteString(l + f.nl)
	}
	if len(a.Headers) > 0 {
		b.WriteString("  headers:" + f.nl)
		for _, h := range a.Headers {
			b.WriteString("  - name: " + yamlScalar(h[0]) + f.nl)
			b.WriteString("    value: " + yamlScalar(h[1]) + f.nl)
		}
	}
	return b.String()
}

// rawDocumentText is doc after a separator, without its own leading "---"
// line, in the file's line endings and with a final line ending.
func (f *file) rawDocumentText(doc []byte) string {
	s := strings.ReplaceAll(string(doc), "\r\n", "\n")
	s = strings.TrimLeft(s, "\n")
	if rest, ok := strings.CutPrefix(s, "---\n"); ok {
		s = rest
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return f.separator() + strings.ReplaceAll(s, "\n", f.nl)
}

// separator is the "---" line that starts a new document, or nothing when
// the file already ends with one.
func (f *file) separator() string {
	if f.endsWithSeparator() {
		return ""
	}
	return "---" + f.nl
}

// yamlScalar writes s as a plain scalar when YAML reads that back as the
// same string, and double-quoted otherwise (e.g. "true", "123", ": x").
func yamlScalar(s string) string {
	var n yaml.Node
	if s != "" && yaml.Unmarshal([]byte("k: "+s+"\n"), &n) == nil && len(n.Content) == 1 {
		if m := n.Content[0]; len(m.Content) == 2 {
			v := m.Content[1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Style == 0 && v.Value == s {
				return s
			}
		}
	}
	b, _ := yaml.Marshal(s) // yaml.v3 quotes as needed
	out := strings.TrimSuffix(string(b), "\n")
	if strings.Contains(out, "\n") { // a block scalar; force a one-line form
		return fmt.Sprintf("%q", s)
	}
	return out
}
