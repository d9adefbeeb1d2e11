package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// adapterDoc is one non-Atlas document. adapter is set only for a valid
// `kind: HTTP` document.
type adapterDoc struct {
	name, kind string
	node       *yaml.Node
	adapter    *model.Adapter
	referenced bool
	// stripeAppName is the spec.stripeApp.name node, checked against the
	// StripeApp documents once all documents are read.
	stripeAppName *yaml.Node
	stripeAppRef  string
}

func (p *parser) adapterDocument(root *yaml.Node, kind string) *adapterDoc {
	d := &adapterDoc{kind: kind, node: root}
	nameNode := lookup(lookup(root, "metadata"), "name")
	if kind != KindHTTP {
		// Unsupported kinds are not expanded: their secrets need not be set.
		if n := resolve(nameNode); n != nil && n.Kind == yaml.ScalarNode {
			d.name = n.Value
			p.warnf(root, "adapter %q has kind %s, which this Atlas does not support; it is ignored", d.name, word(kind))
		} else {
			p.warnf(root, "a document of kind %s is not supported by this Atlas; it is ignored", word(kind))
		}
		return d
	}
	if v, ok := p.text(lookup(root, "apiVersion"), "apiVersion"); ok && v != AdapterAPIVersion {
		p.errorf(root, "HTTP adapter has apiVersion %s; use %s", printable(v), AdapterAPIVersion)
	}
	name, ok := p.requiredText(root, nameNode, "metadata.name", "every adapter needs a name")
	if !ok {
		return d
	}
	d.name = name
	valid := true
	if err := ValidateAdapterName(name); err != nil {
		p.errorf(nameNode, "%w", err)
		valid = false
	}
	a := &model.Adapter{Name: name, Source: p.pos(root)}
	spec := lookup(root, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		p.errorf(root, "adapter %q has no spec mapping; it needs at least spec.baseUrl", name)
		return d
	}
	urlNode := lookup(spec, "baseUrl")
	if raw, ok := p.requiredText(spec, urlNode, fmt.Sprintf("adapter %q: spec.baseUrl", name), "set it to the API's URL, e.g. https://api.stripe.com"+misspelled(spec, "baseUrl")); ok {
		up, err := ParseBaseURL(raw)
		if err != nil {
			p.errorf(urlNode, "adapter %q: %w", name, err)
			valid = false
		}
		a.Upstream = up
	} else {
		valid = false
	}
	if !p.headers(a, lookup(spec, "headers")) {
		valid = false
	}
	if !p.tls(a, lookup(spec, "tls")) {
		valid = false
	}
	if !p.adapterStripeApp(d, a, lookup(spec, "stripeApp")) {
		valid = false
	}
	if valid {
		d.adapter = a
	}
	return d
}

// misspelled suggests the right spelling of key when spec has a key that
// differs only in case or a trailing s (baseURL, BaseUrl, signingSecret).
func misspelled(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value != key && strings.EqualFold(strings.TrimSuffix(k.Value, "s"), strings.TrimSuffix(key, "s")) {
			return fmt.Sprintf(" (found %s at line %d: the key is spelled %s)", printable(k.Value), k.Line, key)
		}
	}
	return ""
}

// headers reads spec.headers into a.Headers, in file order.
func (p *parser) headers(a *model.Adapter, n *yaml.Node) bool {
	if n == nil || isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "adapter %q: spec.headers must be a list of `- name: …` / `value: …`, not a %s", a.Name, kindName(n))
		return false
	}
	ok := true
	seen := map[string]*yaml.Node{}
	for i, item := range n.Content {
		item = resolve(item)
		field := fmt.Sprintf("adapter %q: spec.headers[%d]", a.Name, i)
		if item == nil || item.Kind != yaml.MappingNode {
			p.errorf(item, "%s must be a mapping with name and value", field)
			ok = false
			continue
		}
		nameNode, valueNode := lookup(item, "name"), lookup(item, "value")
		name, okName := p.requiredText(item, nameNode, field+".name", "set the header name, e.g. Authorization")
		value, okValue := p.requiredText(item, valueNode, field+".value", "set the header value, e.g. Bearer ${{ API_KEY }}")
		if !okName || !okValue {
			ok = false
			continue
		}
		shown := printable(name)
		if strings.Contains(nameNode.Value, "${{") {
			shown = printable(nameNode.Value) // the expansion may be a secret
		}
		if why := headerNameProblem(name); why != "" {
			p.errorf(nameNode, "%s: header name %s %s", field, shown, why)
			ok = false
			continue
		}
		if err := ValidateHeaderValue(value); err != nil {
			p.errorf(valueNode, "%s: header %s %w", field, shown, err)
			ok = false
			continue
		}
		key := strings.ToLower(name)
		if first, dup := seen[key]; dup {
			p.errorf(nameNode, "%s: header %s is set twice (first at %s); header names are case-insensitive, keep one", field, shown, p.pos(first))
			ok = false
			continue
		}
		seen[key] = nameNode
		a.Headers = append(a.Headers, model.Header{Name: name, Value: value})
	}
	return ok
}
