// Package config reads Moment's Atlas configuration file as it is and turns
// it into a validated *model.Config.
//
// The file is multi-document YAML: exactly one `kind: Atlas` document
// (apiVersion moment.dev/atlas/v1alpha1) lists the adapters to serve in
// spec.apiAdapters[].adapterRef, and each adapter is its own document
// (apiVersion moment.dev/adapters/v1alpha1). Only `kind: HTTP` adapters are
// served; other kinds (AWS, Postgres, Kubernetes, Moment, …) are accepted and
// reported in Config.Warnings. Keys Atlas does not use (gatewayRegistration,
// identityProviders, owner, …) are kept out of the model and never an error.
//
// Atlas's own documents use apiVersion atlas/v1alpha1. The one kind there is
// StripeApp (spec.signingSecrets, spec.tolerance, spec.maxBodyBytes); it needs
// no adapterRef, and HTTP adapters point at it with spec.stripeApp
// {name, onBehalfOf}. Other kinds under atlas/v1alpha1 are warnings.
//
// `${{ NAME }}` inside a string value is replaced by the environment variable
// NAME after YAML parsing. Only the values Atlas consumes are expanded
// (metadata.name, spec.baseUrl, spec.headers, spec.tls.caFile, spec.stripeApp,
// StripeApp specs, exposedPorts), so a secret needed only by an unsupported
// adapter kind need not be set.
//
// Atlas extension to Moment's format, in an HTTP adapter document:
//
//	spec:
//	  tls:
//	    caFile: certs/internal-ca.pem
//
// caFile (relative to the configuration file's directory) is a PEM bundle of
// CA certificates that replaces the system trust store for that https
// upstream; it ends up in model.Upstream.CAPEM.
//
// Validation collects every problem (joined with errors.Join), each prefixed
// with the file:line of the offending node. No message ever contains a header
// value or other expanded secret.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// API versions and kinds of Moment's configuration documents.
const (
	AtlasAPIVersion   = "moment.dev/atlas/v1alpha1"
	AdapterAPIVersion = "moment.dev/adapters/v1alpha1"
	KindAtlas         = "Atlas"
	KindHTTP          = "HTTP"
	// AtlasExtAPIVersion holds Atlas's own document kinds (StripeApp), which
	// Moment's tools do not know.
	AtlasExtAPIVersion = "atlas/v1alpha1"
	KindStripeApp      = "StripeApp"
)

// LookupEnv is how ${{ NAME }} is resolved (os.LookupEnv in production).
type LookupEnv func(string) (string, bool)

// Options are Load's and Parse's dependencies on the outside world. The zero
// value uses the process environment and file system.
type Options struct {
	// LookupEnv resolves ${{ NAME }}; nil means os.LookupEnv.
	LookupEnv LookupEnv
	// ReadFile reads the configuration and spec.tls.caFile; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// LookupSecret resolves ${{ secret:NAME }} from the admin API's secret
	// store; nil means no stored secrets exist.
	LookupSecret LookupEnv

	combined bool // LookupEnv already dispatches secret: references
}

func (o Options) withDefaults() Options {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if !o.combined {
		o.LookupEnv, o.combined = combinedLookup(o.LookupEnv, o.LookupSecret), true
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	return o
}

// Load reads the configuration file at path and parses it. Relative paths
// inside the file (spec.tls.caFile) are resolved against the file's directory.
func Load(path string, opts Options) (*model.Config, error) {
	opts = opts.withDefaults()
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read Atlas configuration: %w (check the -f path)", err)
	}
	return Parse(path, data, opts)
}

// Parse parses and validates the configuration in data. filename is used in
// messages ("file:line: …") and its directory is the base for relative paths.
func Parse(filename string, data []byte, opts Options) (*model.Config, error) {
	opts = opts.withDefaults()
	docs, err := decodeDocuments(filename, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, opts: opts}
	return p.parse(docs)
}

// decodeDocuments splits the YAML stream into document nodes. A syntax error
// stops everything: later positions would be meaningless.
func decodeDocuments(filename string, data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; never let it crash
		// the gateway or the CLI.
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("%s: invalid YAML: the parser failed (%v); check the file's syntax", filename, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, syntaxError(filename, err)
		}
		docs = append(docs, &doc)
	}
}

// parser accumulates problems and warnings while walking the documents.
type parser struct {
	file string
	opts Options
	// api are admin-API adapters (ParseWithAPI); apiUsedApps the StripeApps
	// they name, so those do not count as unused.
	api         []APIAdapter
	apiUsedApps map[string]bool
	problems    []problem
	warnings    []problem
}

type problem struct {
	line int
	err  error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := lineOf(n)
	err := fmt.Errorf("%s:%d: "+format, append([]any{p.file, line}, args...)...)
	p.problems = append(p.problems, problem{line, err})
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	line := lineOf(n)
	err := fmt.Errorf("%s:%d: "+format, append([]any{p.file, line}, args...)...)
	p.warnings = append(p.warnings, problem{line, err})
}

func (p *parser) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d", p.file, lineOf(n)) }

func lineOf(n *yaml.Node) int {
	if n == nil || n.Line < 1 {
		return 1
	}
	return n.Line
}

func (p *parser) parse(docs []*yaml.Node) (*model.Config, error) {
	var atlas *yaml.Node
	var adapters []*adapterDoc
	var apps []*stripeAppDoc
	for _, doc := range docs {
		root := resolve(doc)
		if len(doc.Content) > 0 {
			root = resolve(doc.Content[0])
		}
		if root == nil || isNull(root) {
			continue // an empty document, e.g. a trailing "---"
		}
		if root.Kind != yaml.MappingNode {
			p.errorf(root, "document is not a mapping; each document needs apiVersion, kind, metadata and spec")
			continue
		}
		kindNode := lookup(root, "kind")
		kind, _ := p.text(kindNode, "kind")
		switch {
		case kindNode == nil || kind == "":
			p.errorf(root, "document has no kind; set `kind: Atlas` for the main document or `kind: HTTP` for an adapter")
		case kind == KindAtlas:
			if atlas != nil {
				p.errorf(root, "second Atlas document (the first is at %s); keep exactly one `kind: Atlas` document", p.pos(atlas))
				continue
			}
			atlas = root
		case kind == KindStripeApp:
			apps = append(apps, p.stripeAppDocument(root))
		case rawScalar(lookup(root, "apiVersion")) == AtlasExtAPIVersion:
			p.warnf(root, "a document of kind %s under apiVersion %s is not supported by this Atlas (it knows %s); it is ignored", word(kind), AtlasExtAPIVersion, KindStripeApp)
		default:
			adapters = append(adapters, p.adapterDocument(root, kind))
		}
	}
	cfg := &model.Config{IngressPort: model.DefaultIngressPort, AdminPort: model.DefaultAdminPort}
	api := p.parseAPIDocs()
	cfg.StripeApps = p.linkStripeApps(apps, adapters)
	if atlas == nil {
		p.errorf(nil, "no Atlas document found; add one with `apiVersion: %s` and `kind: Atlas`", AtlasAPIVersion)
	} else {
		refs := p.atlasDocument(atlas, cfg)
		cfg.Adapters = p.resolveRefs(refs, adapters)
	}
	p.mergeAPIDocs(cfg, api, adapters)
	sortProblems(p.warnings)
	for _, w := range p.warnings {
		cfg.Warnings = append(cfg.Warnings, w.err.Error())
	}
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		errs := make([]error, len(p.problems))
		for i, pr := range p.problems {
			errs[i] = pr.err
		}
		return nil, errors.Join(errs...)
	}
	sort.Slice(cfg.Adapters, func(i, j int) bool { return cfg.Adapters[i].Name < cfg.Adapters[j].Name })
	return cfg, nil
}

// rawScalar is a scalar's unexpanded value, or "".
func rawScalar(n *yaml.Node) string {
	if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func sortProblems(ps []problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].line < ps[j].line })
}
