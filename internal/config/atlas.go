package config

import (
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// adapterRef is one spec.apiAdapters[].adapterRef of the Atlas document.
type adapterRef struct {
	name, kind string
	node       *yaml.Node
}

// atlasDocument reads the ports into cfg and returns the adapter references.
// gatewayRegistration, identityProviders, owner and unknown keys are ignored.
func (p *parser) atlasDocument(root *yaml.Node, cfg *model.Config) []adapterRef {
	if v, ok := p.text(lookup(root, "apiVersion"), "apiVersion"); ok && v != AtlasAPIVersion {
		p.errorf(root, "Atlas document has apiVersion %s; this Atlas reads %s", printable(v), AtlasAPIVersion)
	}
	spec := lookup(root, "spec")
	if spec == nil || isNull(spec) {
		return nil // no adapters, default ports
	}
	if spec.Kind != yaml.MappingNode {
		p.errorf(spec, "Atlas spec must be a mapping, not a %s", kindName(spec))
		return nil
	}
	p.ports(lookup(spec, "exposedPorts"), cfg)
	return p.adapterRefs(lookup(spec, "apiAdapters"))
}

func (p *parser) ports(n *yaml.Node, cfg *model.Config) {
	if n == nil || isNull(n) {
		return // defaults; `exposedPorts: {}` is the same
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "spec.exposedPorts must be a mapping such as {ingressHttpPort: 8082, adminPort: 9000}, not a %s", kindName(n))
		return
	}
	cfg.IngressPort = p.port(lookup(n, "ingressHttpPort"), "spec.exposedPorts.ingressHttpPort", cfg.IngressPort)
	cfg.AdminPort = p.port(lookup(n, "adminPort"), "spec.exposedPorts.adminPort", cfg.AdminPort)
	if cfg.IngressPort == cfg.AdminPort {
		p.errorf(n, "spec.exposedPorts: ingressHttpPort and adminPort are both %d; give them different ports", cfg.IngressPort)
	}
}

func (p *parser) port(n *yaml.Node, field string, def uint32) uint32 {
	s, ok := p.text(n, field)
	if !ok || s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 || v > 65535 {
		p.errorf(n, "%s is %s; use a port number between 1 and 65535", field, shown(n, s))
		return def
	}
	return uint32(v)
}

func (p *parser) adapterRefs(n *yaml.Node) []adapterRef {
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "spec.apiAdapters must be a list of `- adapterRef: {apiVersion, kind, name}`, not a %s", kindName(n))
		return nil
	}
	var refs []adapterRef
	seen := map[string]*yaml.Node{}
	for i, item := range n.Content {
		item = resolve(item)
		ref := lookup(item, "adapterRef")
		if ref == nil || ref.Kind != yaml.MappingNode {
			p.errorf(item, "spec.apiAdapters[%d] has no adapterRef mapping; write `- adapterRef: {apiVersion: %s, kind: HTTP, name: NAME}`", i, AdapterAPIVersion)
			continue
		}
		const hint = "every adapterRef needs apiVersion, kind and name"
		name, okName := p.requiredText(ref, lookup(ref, "name"), "adapterRef name", hint)
		kind, okKind := p.requiredText(ref, lookup(ref, "kind"), "adapterRef kind", hint)
		apiVersion, okVersion := p.requiredText(ref, lookup(ref, "apiVersion"), "adapterRef apiVersion", hint)
		if !okName || !okKind || !okVersion {
			continue
		}
		if kind == KindStripeApp {
			p.warnf(ref, "adapterRef %q has kind StripeApp; StripeApp documents need no adapterRef (adapters name them in spec.stripeApp), so this entry is ignored; remove it", name)
			continue
		}
		if kind == KindHTTP && apiVersion != AdapterAPIVersion {
			p.errorf(ref, "adapterRef %q has apiVersion %s; HTTP adapters use %s", name, printable(apiVersion), AdapterAPIVersion)
			continue
		}
		if first, dup := seen[name]; dup {
			p.errorf(ref, "adapter %q is listed twice in spec.apiAdapters (first at %s); remove one", name, p.pos(first))
			continue
		}
		seen[name] = ref
		refs = append(refs, adapterRef{name: name, kind: kind, node: ref})
	}
	return refs
}

// resolveRefs matches adapterRefs to adapter documents and returns the HTTP
// adapters to serve. Unsupported kinds were already reported by their
// documents; here they are simply skipped.
func (p *parser) resolveRefs(refs []adapterRef, docs []*adapterDoc) []model.Adapter {
	byName := map[string]*adapterDoc{}
	for _, d := range docs {
		if d.name == "" {
			continue
		}
		if first, dup := byName[d.name]; dup {
			if first.kind == KindHTTP || d.kind == KindHTTP {
				p.errorf(d.node, "duplicate adapter name %q (also defined at %s); adapter names must be unique", d.name, p.pos(first.node))
			}
			continue
		}
		byName[d.name] = d
	}
	var out []model.Adapter
	for _, ref := range refs {
		d, ok := byName[ref.name]
		switch {
		case !ok:
			p.errorf(ref.node, "adapterRef %q has no matching adapter document; add a document with `metadata.name: %s` (e.g. with `mom atlas config add-http-adapter`) or fix the name", ref.name, ref.name)
			continue
		case d.kind != ref.kind:
			p.errorf(ref.node, "adapterRef %q says kind %s but the document at %s has kind %s; make them agree", ref.name, printable(ref.kind), p.pos(d.node), printable(d.kind))
			continue
		}
		d.referenced = true
		if d.adapter != nil {
			out = append(out, *d.adapter)
		}
	}
	for _, d := range docs {
		if d.kind == KindHTTP && !d.referenced && d.name != "" {
			p.warnf(d.node, "adapter %q is not referenced from spec.apiAdapters, so it is not served; add an adapterRef to serve it", d.name)
		}
	}
	return out
}
