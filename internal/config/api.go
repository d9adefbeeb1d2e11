package config

import (
	"fmt"
	"strings"

	"github.com/atlas-gateway/atlas/internal/model"
)

// APIAdapter is an adapter managed through the admin API: its name and its
// `kind: HTTP` YAML document, stored as applied (references unexpanded).
type APIAdapter struct {
	Name     string
	Document []byte
}

// apiSource names an API adapter in messages, where a file name would go.
func apiSource(name string) string { return "api adapter " + name }

// ParseWithAPI parses the file like Parse, plus adapters managed through the
// admin API. API adapters need no adapterRef; they are validated by the same
// rules, may reference StripeApps of the file, and must not reuse the name of
// an adapter in the file (the file's adapters are read-only through the API).
// Messages about an API adapter start with "api adapter NAME:LINE:".
func ParseWithAPI(filename string, data []byte, api []APIAdapter, opts Options) (*model.Config, error) {
	opts = opts.withDefaults()
	docs, err := decodeDocuments(filename, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, opts: opts, api: api}
	return p.parse(docs)
}

// apiDoc is one parsed API adapter and the parser that read it, so its
// messages carry its own source name.
type apiDoc struct {
	sub *parser
	doc *adapterDoc
}

// parseAPIDocs reads every API adapter document with its own sub-parser.
func (p *parser) parseAPIDocs() []apiDoc {
	var out []apiDoc
	p.apiUsedApps = map[string]bool{}
	for _, a := range p.api {
		sub := &parser{file: apiSource(a.Name), opts: p.opts}
		docs, err := decodeDocuments(sub.file, a.Document)
		switch {
		case err != nil:
			p.problems = append(p.problems, problem{0, err})
			continue
		case len(docs) != 1 || len(docs[0].Content) == 0:
			p.problems = append(p.problems, problem{0, fmt.Errorf("%s: must be exactly one YAML document of kind HTTP", sub.file)})
			continue
		}
		root := resolve(docs[0].Content[0])
		kind, _ := sub.text(lookup(root, "kind"), "kind")
		if kind != KindHTTP {
			sub.errorf(root, "kind %s: adapters managed through the API must have kind HTTP", word(kind))
			p.adopt(sub)
			continue
		}
		d := sub.adapterDocument(root, kind)
		if d.name != a.Name {
			sub.errorf(root, "metadata.name %q does not match the adapter name %q", d.name, a.Name)
		}
		if d.stripeAppName != nil {
			p.apiUsedApps[d.stripeAppRef] = true
		}
		out = append(out, apiDoc{sub: sub, doc: d})
	}
	return out
}

// mergeAPIDocs checks API adapters against the file and appends them.
func (p *parser) mergeAPIDocs(cfg *model.Config, api []apiDoc, fileDocs []*adapterDoc) {
	inFile := map[string]*adapterDoc{}
	for _, d := range fileDocs {
		if d.name != "" {
			inFile[d.name] = d
		}
	}
	for _, a := range api {
		d := a.doc
		if f, ok := inFile[d.name]; ok {
			a.sub.errorf(d.node, "adapter %q is already defined in %s at %s; adapters from the file are read-only through the API: rename this one, or edit the file", d.name, p.file, p.pos(f.node))
		}
		if d.stripeAppName != nil {
			if _, ok := cfg.StripeApp(d.stripeAppRef); !ok {
				a.sub.errorf(d.stripeAppName, "spec.stripeApp.name %q matches no StripeApp document in %s; StripeApps are defined in the file", d.stripeAppRef, p.file)
				d.adapter = nil
			}
		}
		p.adopt(a.sub)
		if d.adapter != nil {
			cfg.Adapters = append(cfg.Adapters, *d.adapter)
		}
	}
}

// adopt moves a sub-parser's findings into p.
func (p *parser) adopt(sub *parser) {
	p.problems = append(p.problems, sub.problems...)
	p.warnings = append(p.warnings, sub.warnings...)
	sub.problems, sub.warnings = nil, nil
}

// secretRefPrefix marks a reference to a stored secret: ${{ secret:NAME }}.
const secretRefPrefix = "secret:"

// combinedLookup resolves ${{ NAME }} from the environment and
// ${{ secret:NAME }} from the store.
func combinedLookup(env LookupEnv, secret LookupEnv) LookupEnv {
	return func(name string) (string, bool) {
		if s, ok := strings.CutPrefix(name, secretRefPrefix); ok {
			if secret == nil {
				return "", false
			}
			return secret(s)
		}
		return env(name)
	}
}
