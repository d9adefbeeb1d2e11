package configedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/config"
)

// file is an Atlas configuration file: its bytes, line offsets and the
// positions yaml.v3 found in it.
type file struct {
	src    []byte
	nl     string // "\n", or "\r\n" for a CRLF file
	starts []int  // starts[i] is the offset of line i+1
	atlas  *yaml.Node
	refs   map[string]int // adapterRef name -> line
	docs   map[string]int // adapter document name -> line
	ndocs  int            // non-empty documents
}

func scanFile(src []byte) (*file, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, errors.New("the file is empty; it needs an Atlas document (apiVersion: " + config.AtlasAPIVersion + ", kind: Atlas)")
	}
	f := &file{nl: "\n", refs: map[string]int{}, docs: map[string]int{}}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		f.nl = "\r\n"
	}
	if src[len(src)-1] != '\n' {
		src = append(bytes.Clone(src), f.nl...)
	}
	f.src = src
	f.starts = []int{0}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			f.starts = append(f.starts, i+1)
		}
	}
	docs, err := decodeAll(src)
	if err != nil {
		return nil, err
	}
	atlases := 0
	for _, doc := range docs {
		if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
			continue
		}
		f.ndocs++
		root := resolve(doc.Content[0])
		if kind := lookup(root, "kind"); kind != nil && kind.Value == config.KindAtlas {
			atlases++
			f.atlas = root
			f.collectRefs(root)
			continue
		}
		if name := lookup(lookup(root, "metadata"), "name"); name != nil && name.Kind == yaml.ScalarNode {
			f.docs[name.Value] = name.Line
		}
	}
	switch {
	case atlases == 0:
		return nil, errors.New("no Atlas document found (apiVersion: " + config.AtlasAPIVersion + ", kind: Atlas); is this an Atlas configuration file?")
	case atlases > 1:
		return nil, errors.New("the file has more than one Atlas document; keep exactly one `kind: Atlas` document")
	}
	return f, nil
}

func (f *file) collectRefs(atlas *yaml.Node) {
	list := lookup(lookup(atlas, "spec"), "apiAdapters")
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	for _, item := range list.Content {
		if name := lookup(lookup(item, "adapterRef"), "name"); name != nil && name.Kind == yaml.ScalarNode {
			f.refs[name.Value] = name.Line
		}
	}
}

func decodeAll(src []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("the file is not valid YAML (the parser failed: %v)", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("the file is not valid YAML: %w", err)
		}
		docs = append(docs, &doc)
	}
}

// lineStart is the offset of 1-based line n, or len(src) past the end.
func (f *file) lineStart(n int) int {
	if n-1 < len(f.starts) {
		return f.starts[n-1]
	}
	return len(f.src)
}

// line is the text of 1-based line n without its line ending.
func (f *file) line(n int) string {
	s := string(f.src[f.lineStart(n):f.lineStart(n+1)])
	return strings.TrimRight(s, "\r\n")
}

// itemEnd is the last line of the block-list item starting at line start
// whose dash is at column dash (0-based): the item goes on while lines are
// indented deeper than the dash. Blank lines and shallower comments in
// between may belong to what follows, so they do not extend it.
func (f *file) itemEnd(start, dash int) int {
	last := start
	for l := start + 1; l <= len(f.starts); l++ {
		t := f.line(l)
		trimmed := strings.TrimSpace(t)
		ind := len(t) - len(strings.TrimLeft(t, " "))
		switch {
		case trimmed == "":
			continue
		case ind > dash:
			last = l
		case strings.HasPrefix(trimmed, "#"):
			continue
		default:
			return last
		}
	}
	return last
}

// endsWithSeparator reports whether the last non-blank line is "---".
func (f *file) endsWithSeparator() bool {
	lines := strings.Split(strings.TrimRight(string(f.src), " \t\r\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1]) == "---"
}

// checkEdit re-reads the edited file and checks it holds exactly the old
// adapters plus the new one, in one more document.
func checkEdit(before, after []byte, name string) error {
	old, err := scanFile(before)
	if err != nil {
		return err
	}
	f, err := scanFile(after)
	if err != nil {
		return err
	}
	if _, ok := f.refs[name]; !ok {
		return fmt.Errorf("no adapterRef %q in spec.apiAdapters", name)
	}
	if _, ok := f.docs[name]; !ok {
		return fmt.Errorf("no adapter document %q", name)
	}
	if f.ndocs != old.ndocs+1 || len(f.refs) != len(old.refs)+1 || len(f.docs) != len(old.docs)+1 {
		return errors.New("other documents or adapterRefs changed")
	}
	return nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == 8 { // `&a [*a]` is legal: never loop
			return nil
		}
		n = n.Alias
	}
	return n
}

func lookupKey(m *yaml.Node, key string) (k, v *yaml.Node) {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k, resolve(m.Content[i+1])
		}
	}
	return nil, nil
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	_, v := lookupKey(m, key)
	return v
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
