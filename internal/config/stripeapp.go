package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// Limits of a StripeApp document's spec.
const (
	MaxSignatureTolerance = time.Hour
	MaxBodyBytesLimit     = 16 << 20
)

// stripeAppFields are the keys of a StripeApp spec; others get a warning
// because a misspelled key would silently fall back to a default.
var stripeAppFields = []string{"signingSecrets", "tolerance", "maxBodyBytes", "oauthProviders", "appKey"}

// stripeAppDoc is one `kind: StripeApp` document. app is set only when the
// document is valid; name is set whenever it could be read.
type stripeAppDoc struct {
	name string
	node *yaml.Node
	app  *model.StripeApp
	used bool
}

func (p *parser) stripeAppDocument(root *yaml.Node) *stripeAppDoc {
	d := &stripeAppDoc{node: root}
	if v, ok := p.text(lookup(root, "apiVersion"), "apiVersion"); ok && v != AtlasExtAPIVersion {
		p.errorf(root, "StripeApp document has apiVersion %s; use %s", printable(v), AtlasExtAPIVersion)
	}
	nameNode := lookup(lookup(root, "metadata"), "name")
	name, ok := p.requiredText(root, nameNode, "StripeApp metadata.name", "every StripeApp needs a name, which adapters use in spec.stripeApp.name")
	if !ok {
		return d
	}
	d.name = name
	valid := true
	if err := validateName("StripeApp", name); err != nil {
		p.errorf(nameNode, "%w", err)
		valid = false
	}
	spec := lookup(root, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		p.errorf(root, "StripeApp %q has no spec mapping; it needs at least spec.signingSecrets", name)
		return d
	}
	p.unknownKeys(spec, fmt.Sprintf("StripeApp %q: spec", name), stripeAppFields)
	app := &model.StripeApp{Name: name, Source: p.pos(root)}
	var okSecrets, okTol, okBody bool
	app.SigningSecrets, okSecrets = p.signingSecrets(name, spec)
	app.Tolerance, okTol = p.tolerance(name, lookup(spec, "tolerance"))
	app.MaxBodyBytes, okBody = p.maxBodyBytes(name, lookup(spec, "maxBodyBytes"))
	var okOAuth bool
	app.OAuthProviders, okOAuth = p.oauthProviders(name, spec) // config/oauth.go
	var okKey bool
	app.AppKey, okKey = p.appKey(d, spec) // config/appkey.go
	if valid && okSecrets && okTol && okBody && okOAuth && okKey {
		d.app = app
	}
	return d
}

// signingSecrets reads spec.signingSecrets. Messages name the entry and its
// variables, never a value: the raw entry may itself be a secret.
func (p *parser) signingSecrets(app string, spec *yaml.Node) ([]string, bool) {
	field := fmt.Sprintf("StripeApp %q: spec.signingSecrets", app)
	const example = "e.g. `signingSecrets: [\"${{ STRIPE_APP_SECRET }}\"]`"
	n := lookup(spec, "signingSecrets")
	switch {
	case n == nil || isNull(n):
		p.errorf(spec, "%s is missing; list the app's signing secrets (absec_…), %s%s", field, example, misspelled(spec, "signingSecrets"))
		return nil, false
	case n.Kind != yaml.SequenceNode:
		p.errorf(n, "%s must be a list of secrets, not a %s; %s", field, kindName(n), example)
		return nil, false
	case len(n.Content) == 0:
		p.errorf(n, "%s is empty; list at least one signing secret, %s", field, example)
		return nil, false
	}
	var out []string
	ok := true
	for i, item := range n.Content {
		secret, good := p.signingSecret(fmt.Sprintf("%s[%d]", field, i), resolve(item), n)
		if !good {
			ok = false
			continue
		}
		out = append(out, secret)
	}
	return out, ok
}

func (p *parser) signingSecret(field string, item, list *yaml.Node) (string, bool) {
	if item == nil || isNull(item) {
		p.errorf(orNode(item, list), "%s is empty; write the secret as ${{ NAME }} or remove this entry", field)
		return "", false
	}
	if item.Kind != yaml.ScalarNode {
		p.errorf(item, "%s must be a string such as ${{ STRIPE_APP_SECRET }}, not a %s", field, kindName(item))
		return "", false
	}
	secret, ok := p.expandField(item, field, func(name string) string {
		return fmt.Sprintf("remove this entry or export %s where Atlas runs (export %s=absec_…)", name, name)
	})
	if !ok {
		return "", false
	}
	from := sourceOf(item.Value)
	switch {
	case secret == "" && from == "":
		p.errorf(item, "%s is empty; write the secret as ${{ NAME }} or remove this entry", field)
		return "", false
	case secret == "":
		p.errorf(item, "%s is empty after expanding %s; set it to the app's signing secret (absec_…) or remove this entry", field, from)
		return "", false
	}
	if i := strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		p.errorf(item, "%s%s contains whitespace or a control character at byte %d; remove it (often a trailing newline in the variable)", field, fromSuffix(from), i)
		return "", false
	}
	if !strings.HasPrefix(secret, "absec_") && !strings.HasPrefix(secret, "whsec_") {
		p.warnf(item, "%s%s does not start with absec_ or whsec_; check that it holds the app's signing secret (Stripe Dashboard → your app → Signing secret)", field, fromSuffix(from))
	}
	return secret, true
}

// sourceOf names where a value came from ("${{ A }}", "${{ A }}, ${{ B }}")
// or "" for a literal; it never contains the value.
func sourceOf(raw string) string {
	var refs []string
	for _, name := range refNames(raw) {
		refs = append(refs, "${{ "+name+" }}")
	}
	return strings.Join(refs, ", ")
}

func fromSuffix(from string) string {
	if from == "" {
		return ""
	}
	return " (from " + from + ")"
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

func (p *parser) tolerance(app string, n *yaml.Node) (time.Duration, bool) {
	field := fmt.Sprintf("StripeApp %q: spec.tolerance", app)
	s, ok := p.text(n, field)
	if !ok {
		return 0, false
	}
	if s == "" {
		return model.DefaultSignatureTolerance, true
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		hint := ""
		if _, numErr := strconv.ParseUint(s, 10, 64); numErr == nil {
			hint = " (a unit is required, e.g. 300s)"
		}
		p.errorf(n, "%s is %s, not a duration; write it like 300s or 5m%s", field, shown(n, s), hint)
		return 0, false
	case d <= 0 || d > MaxSignatureTolerance:
		p.errorf(n, "%s is %s; it must be greater than 0 and at most 1h (Stripe's default is 300s)", field, d)
		return 0, false
	}
	return d, true
}

func (p *parser) maxBodyBytes(app string, n *yaml.Node) (uint32, bool) {
	field := fmt.Sprintf("StripeApp %q: spec.maxBodyBytes", app)
	s, ok := p.text(n, field)
	if !ok {
		return 0, false
	}
	if s == "" {
		return model.DefaultMaxBodyBytes, true
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 || v > MaxBodyBytesLimit {
		p.errorf(n, "%s is %s; use a whole number of bytes from 1 to %d (16 MiB); the default is %d (1 MiB)", field, shown(n, s), MaxBodyBytesLimit, model.DefaultMaxBodyBytes)
		return 0, false
	}
	return uint32(v), true
}

// unknownKeys warns about keys of mapping m that are not in known.
func (p *parser) unknownKeys(m *yaml.Node, field string, known []string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := resolve(m.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode || contains(known, k.Value) {
			continue
		}
		p.warnf(k, "%s.%s is not a known field (known: %s); it is ignored", field, word(k.Value), strings.Join(known, ", "))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
