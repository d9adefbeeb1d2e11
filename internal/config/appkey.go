package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MinAppKeyBytes is the shortest spec.appKey accepted: the key guards the
// Secret Store against anyone who can reach the data port, so it must not
// be guessable.
const MinAppKeyBytes = 16

// appKey reads a StripeApp's optional spec.appKey: the key the app's own
// backend sends to Atlas's Secret Store API as `Authorization: Bearer …`.
// A StripeApp with one has an effect even when no adapter names it, so d is
// marked used. Messages name the variables, never the value.
func (p *parser) appKey(d *stripeAppDoc, spec *yaml.Node) (string, bool) {
	field := fmt.Sprintf("StripeApp %q: spec.appKey", d.name)
	const example = "e.g. `appKey: ${{ ATLAS_APP_KEY }}`"
	n := resolve(lookup(spec, "appKey"))
	switch {
	case n == nil || isNull(n):
		return "", true
	case n.Kind != yaml.ScalarNode:
		p.errorf(n, "%s must be a string such as ${{ ATLAS_APP_KEY }}, not a %s", field, kindName(n))
		return "", false
	}
	d.used = true
	key, ok := p.expandField(n, field, func(name string) string {
		return fmt.Sprintf("export %s where Atlas runs (for example export %s=$(openssl rand -hex 32)) or remove spec.appKey", name, name)
	})
	if !ok {
		return "", false
	}
	from := sourceOf(n.Value)
	switch {
	case key == "":
		p.errorf(n, "%s%s is empty; set it to a random key (%s) or remove spec.appKey", field, fromSuffix(from), example)
		return "", false
	case strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		p.errorf(n, "%s%s contains whitespace or a control character; remove it (often a trailing newline in the variable)", field, fromSuffix(from))
		return "", false
	case len(key) < MinAppKeyBytes:
		p.errorf(n, "%s%s is %d bytes; use a random key of at least %d (for example openssl rand -hex 32)", field, fromSuffix(from), len(key), MinAppKeyBytes)
		return "", false
	}
	return key, true
}
