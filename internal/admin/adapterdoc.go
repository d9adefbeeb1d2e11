package admin

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
)

// adapterDocument is the Moment `kind: HTTP` document for a, as the store
// keeps it, and for each of its lines the request field it comes from, so
// that a validation message at "api adapter NAME:LINE" names that field.
func adapterDocument(a *adminv1.Adapter) (doc []byte, fields map[int]string) {
	w := &docWriter{fields: map[int]string{}}
	w.line("adapter", "apiVersion: "+config.AdapterAPIVersion)
	w.line("adapter", "kind: "+config.KindHTTP)
	w.line("adapter.name", "metadata:")
	w.line("adapter.name", "  name: "+scalar(a.GetName()))
	w.line("adapter", "spec:")
	w.line("adapter.base_url", "  baseUrl: "+scalar(a.GetBaseUrl()))
	if len(a.GetHeaders()) > 0 {
		w.line("adapter.headers", "  headers:")
		for i, h := range a.GetHeaders() {
			w.line(fmt.Sprintf("adapter.headers[%d].name", i), "  - name: "+scalar(h.GetName()))
			w.line(fmt.Sprintf("adapter.headers[%d].value_template", i), "    value: "+scalar(h.GetValueTemplate()))
		}
	}
	if ca := a.GetTls().GetCaPem(); ca != "" {
		w.line("adapter.tls.ca_pem", "  tls:")
		w.block("adapter.tls.ca_pem", "    caPem: ", "      ", ca)
	}
	return []byte(w.b.String()), w.fields
}

type docWriter struct {
	b      strings.Builder
	n      int
	fields map[int]string
}

func (w *docWriter) line(field, text string) {
	w.n++
	w.fields[w.n] = field
	w.b.WriteString(text + "\n")
}

// block writes s as a literal block scalar when that reads back as s with
// one final newline, which suits a PEM bundle, and as one quoted line
// otherwise.
func (w *docWriter) block(field, key, indent, s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	body := strings.TrimRight(s, "\n")
	if !literalSafe(body) {
		w.line(field, key+scalar(s))
		return
	}
	w.line(field, key+"|")
	for _, l := range strings.Split(body, "\n") {
		if l == "" {
			w.line(field, "")
			continue
		}
		w.line(field, indent+l)
	}
}

// literalSafe reports whether s survives a literal block scalar: printable
// text, no leading space on the first line (it would need an indentation
// indicator), no trailing spaces (they would be kept, but invisibly).
func literalSafe(s string) bool {
	if s == "" || strings.HasPrefix(s, " ") || !utf8.ValidString(s) {
		return false
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimRight(l, " \t") != l {
			return false
		}
	}
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f || r == 0xfeff) {
			return false
		}
	}
	return true
}

// scalar writes s as a plain YAML scalar when it reads back as the same
// string, and as a double-quoted one otherwise. Go's %q escapes are valid
// YAML escapes for valid UTF-8, which gRPC guarantees for string fields.
func scalar(s string) string {
	var n yaml.Node
	if s != "" && !strings.ContainsAny(s, "\r\n\t") &&
		yaml.Unmarshal([]byte("k: "+s+"\n"), &n) == nil && len(n.Content) == 1 {
		if m := n.Content[0]; len(m.Content) == 2 {
			if v := m.Content[1]; v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Style == 0 && v.Value == s {
				return s
			}
		}
	}
	return fmt.Sprintf("%q", s)
}

// httpDoc is the part of a stored `kind: HTTP` document the API shows.
type httpDoc struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		BaseURL string `yaml:"baseUrl"`
		Headers []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"headers"`
		TLS struct {
			CAPem string `yaml:"caPem"`
		} `yaml:"tls"`
	} `yaml:"spec"`
}

// adapterFromDocument reads a stored document back into its API form.
func adapterFromDocument(name string, doc []byte) (*adminv1.Adapter, error) {
	a := &adminv1.Adapter{Name: name, Source: adminv1.AdapterSource_ADAPTER_SOURCE_API}
	var d httpDoc
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return a, fmt.Errorf("the stored document of adapter %q does not parse: %w; apply the adapter again", name, err)
	}
	a.BaseUrl = d.Spec.BaseURL
	for _, h := range d.Spec.Headers {
		a.Headers = append(a.Headers, &adminv1.Header{Name: h.Name, ValueTemplate: h.Value})
	}
	if d.Spec.TLS.CAPem != "" {
		a.Tls = &adminv1.UpstreamTls{CaPem: d.Spec.TLS.CAPem}
	}
	return a, nil
}
