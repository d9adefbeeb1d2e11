package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliasHops bounds alias resolution: yaml.v3 lets an anchor refer to
// itself (`&a [*a]`), so following aliases blindly could loop forever.
const maxAliasHops = 8

// resolve follows aliases (a bounded number of times) and returns the node
// they point to, or nil.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasHops {
			return nil
		}
		n = n.Alias
	}
	return n
}

// lookup returns the (resolved) value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolve(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// lookupKey is lookup but also returns the key node, for its line.
func lookupKey(m *yaml.Node, key string) (keyNode, value *yaml.Node) {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolve(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return k, resolve(m.Content[i+1])
		}
	}
	return nil, nil
}

func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// text returns the expanded string value of a scalar node. It reports a
// problem (and returns ok=false) when the node is not a scalar or when a
// ${{ }} reference cannot be expanded. A missing or null node returns "",
// true: callers decide whether the field is required.
func (p *parser) text(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	if n == nil || isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a string, not a %s", field, kindName(n))
		return "", false
	}
	out, errs := expand(n.Value, p.opts.LookupEnv)
	for _, err := range errs {
		p.errorf(n, "%s: %w", field, err)
	}
	return out, len(errs) == 0
}

// requiredText is text for a field that must be present and non-empty.
func (p *parser) requiredText(parent, n *yaml.Node, field, hint string) (string, bool) {
	if n == nil || isNull(n) {
		p.errorf(parent, "%s is missing; %s", field, hint)
		return "", false
	}
	s, ok := p.text(n, field)
	if ok && s == "" {
		p.errorf(n, "%s is empty; %s", field, hint)
		return "", false
	}
	return s, ok
}

// shown is how a message shows a scalar's value: the raw text when it holds
// a ${{ }} reference (the expansion may be a secret), else the value.
func shown(n *yaml.Node, expanded string) string {
	if n = resolve(n); n != nil && strings.Contains(n.Value, "${{") {
		return printable(n.Value)
	}
	return printable(expanded)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	default:
		return "node"
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error into "file:line: invalid YAML: …".
func syntaxError(filename string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return fmt.Errorf("%s:%d: invalid YAML: %s; fix the syntax at this line", filename, line, m[2])
	}
	return fmt.Errorf("%s: invalid YAML: %w", filename, err)
}

// expandField expands the ${{ }} references of scalar n, reporting each
// problem at n; fix says what to do about an unset variable.
func (p *parser) expandField(n *yaml.Node, field string, fix func(name string) string) (string, bool) {
	v, errs := expand(n.Value, p.opts.LookupEnv)
	for _, err := range errs {
		var unset *unsetVarError
		if errors.As(err, &unset) {
			p.errorf(n, "%s: environment variable %s is not set; %s", field, unset.name, fix(unset.name))
			continue
		}
		p.errorf(n, "%s: %w", field, err)
	}
	return v, len(errs) == 0
}
