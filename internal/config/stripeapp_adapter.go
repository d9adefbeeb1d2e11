package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

var adapterStripeAppFields = []string{"name", "onBehalfOf"}

// adapterStripeApp reads an HTTP adapter's spec.stripeApp into a.StripeApp.
// The name is checked against the StripeApp documents later (linkStripeApps).
func (p *parser) adapterStripeApp(d *adapterDoc, a *model.Adapter, n *yaml.Node) bool {
	if n == nil || isNull(n) {
		return true
	}
	field := fmt.Sprintf("adapter %q: spec.stripeApp", a.Name)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping such as {name: my-app, onBehalfOf: true}, not a %s", field, kindName(n))
		return false
	}
	p.unknownKeys(n, field, adapterStripeAppFields)
	nameNode := lookup(n, "name")
	name, ok := p.requiredText(n, nameNode, field+".name", "set it to the metadata.name of a StripeApp document (kind: StripeApp)")
	if !ok {
		return false
	}
	d.stripeAppName, d.stripeAppRef = nameNode, name
	sa := &model.AdapterStripeApp{Name: name}
	obo := lookup(n, "onBehalfOf")
	if obo != nil && !isNull(obo) {
		v, err := strconv.ParseBool(obo.Value)
		if obo.Kind != yaml.ScalarNode || obo.Tag != "!!bool" || err != nil {
			shown := "a " + kindName(obo)
			if obo.Kind == yaml.ScalarNode {
				shown = printable(obo.Value)
			}
			p.errorf(obo, "%s.onBehalfOf is %s; it must be true or false (unquoted)", field, shown)
			return false
		}
		sa.OnBehalfOf = v
	}
	a.StripeApp = sa
	if !sa.OnBehalfOf {
		return true
	}
	ok = true
	hasAuth := false
	for _, h := range a.Headers {
		switch strings.ToLower(h.Name) {
		case "authorization":
			hasAuth = true
		case "stripe-account":
			p.errorf(obo, "%s.onBehalfOf sets Stripe-Account from the verified signature, but spec.headers also sets Stripe-Account; remove that header", field)
			ok = false
		}
	}
	if !hasAuth {
		p.warnf(obo, "%s.onBehalfOf is true but the adapter injects no Authorization header; Stripe-Account only makes sense with a platform key, e.g. `Authorization: Bearer ${{ STRIPE_API_KEY }}`", field)
	}
	return ok
}

// linkStripeApps checks every adapter's spec.stripeApp.name against the
// StripeApp documents, reports duplicate and unused StripeApps, and returns
// the valid StripeApps sorted by name.
func (p *parser) linkStripeApps(apps []*stripeAppDoc, adapters []*adapterDoc) []model.StripeApp {
	byName := map[string]*stripeAppDoc{}
	for _, s := range apps {
		if s.name == "" {
			continue
		}
		if first, dup := byName[s.name]; dup {
			p.errorf(s.node, "duplicate StripeApp name %q (also defined at %s); StripeApp names must be unique, rename or remove one", s.name, p.pos(first.node))
			continue
		}
		byName[s.name] = s
	}
	for _, d := range adapters {
		if d.stripeAppName == nil {
			continue
		}
		s, ok := byName[d.stripeAppRef]
		if !ok {
			p.errorf(d.stripeAppName, "adapter %q: spec.stripeApp.name %s matches no StripeApp document; %s", d.name, shown(d.stripeAppName, d.stripeAppRef), knownApps(byName))
			d.adapter = nil
			continue
		}
		s.used = true
	}
	p.linkOAuthProviders(apps, byName) // config/oauth.go
	var out []model.StripeApp
	for _, s := range apps {
		if byName[s.name] != s {
			continue
		}
		if !s.used && !p.apiUsedApps[s.name] {
			p.warnf(s.node, "StripeApp %q is used by no adapter, so it has no effect; add `stripeApp: {name: %s}` to an HTTP adapter's spec or remove it", s.name, s.name)
		}
		if s.app != nil {
			out = append(out, *s.app)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func knownApps(byName map[string]*stripeAppDoc) string {
	if len(byName) == 0 {
		return fmt.Sprintf("this file has none; add a document with `apiVersion: %s`, `kind: %s` and that metadata.name", AtlasExtAPIVersion, KindStripeApp)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return "StripeApps in this file: " + strings.Join(names, ", ")
}
