package mom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
)

// httpAdapterDoc is the part of a Moment `kind: HTTP` adapter document that
// the admin API's Adapter carries. Other keys are Moment's and ignored, as
// the server's file parser ignores them.
type httpAdapterDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		BaseURL string `yaml:"baseUrl"`
		Headers []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"headers"`
		TLS struct {
			CAFile string `yaml:"caFile"`
		} `yaml:"tls"`
		StripeApp yaml.Node `yaml:"stripeApp"` // refused; a Node keeps its line
	} `yaml:"spec"`
}

// adaptersFromYAML converts every `kind: HTTP` document in data (the file
// named filename) to an admin API Adapter. Header values stay templates:
// ${{ … }} references are sent unexpanded for the server to resolve.
// spec.tls.caFile is read with readFile, relative to filename's directory.
// Every problem is reported, each with filename:line.
func adaptersFromYAML(filename string, data []byte, readFile func(string) ([]byte, error)) (_ []*adminv1.Adapter, err error) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on hostile input
			err = fmt.Errorf("%s: not valid YAML (%v)", filename, r)
		}
	}()
	var out []*adminv1.Adapter
	var problems []error
	seen := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		if err := dec.Decode(&root); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", filename, err)
		}
		if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			continue // an empty document, e.g. after a trailing ---
		}
		line := root.Content[0].Line
		a, errs := adapterFromNode(filename, root.Content[0], readFile)
		problems = append(problems, errs...)
		if a == nil {
			continue
		}
		if first, dup := seen[a.Name]; dup {
			problems = append(problems, fmt.Errorf("%s:%d: adapter %q is defined twice (first at line %d); keep one", filename, line, a.Name, first))
			continue
		}
		seen[a.Name] = line
		out = append(out, a)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no adapter document; it needs at least one `kind: HTTP` document (apiVersion %s)", filename, config.AdapterAPIVersion)
	}
	return out, nil
}

// adapterFromNode converts one document. a is nil when errs is not empty.
func adapterFromNode(filename string, n *yaml.Node, readFile func(string) ([]byte, error)) (a *adminv1.Adapter, errs []error) {
	at := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", filename, line, fmt.Sprintf(format, args...)))
	}
	var d httpAdapterDoc
	if err := n.Decode(&d); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			at(n.Line, "%v", err)
			return nil, errs
		}
		for _, e := range te.Errors { // "line 7: cannot unmarshal …"
			errs = append(errs, fmt.Errorf("%s:%s", filename, strings.TrimPrefix(e, "line ")))
		}
		return nil, errs
	}
	if d.Kind != config.KindHTTP {
		at(n.Line, "kind %q: `mom atlas adapters apply` takes only adapter documents of kind HTTP (the Atlas document and StripeApps stay in the server's configuration file)", d.Kind)
		return nil, errs
	}
	if d.APIVersion != "" && d.APIVersion != config.AdapterAPIVersion {
		at(n.Line, "HTTP adapter has apiVersion %q; use %s", d.APIVersion, config.AdapterAPIVersion)
	}
	if d.Metadata.Name == "" {
		at(n.Line, "metadata.name is required: every adapter needs a name")
	}
	if d.Spec.StripeApp.Kind != 0 && d.Spec.StripeApp.Tag != "!!null" {
		at(d.Spec.StripeApp.Line, "adapter %q: spec.stripeApp cannot be applied through the admin API; keep this adapter in the server's configuration file", d.Metadata.Name)
	}
	if d.Spec.BaseURL == "" {
		at(n.Line, "adapter %q: spec.baseUrl is required, e.g. https://api.stripe.com", d.Metadata.Name)
	}
	a = &adminv1.Adapter{Name: d.Metadata.Name, BaseUrl: d.Spec.BaseURL}
	for i, h := range d.Spec.Headers {
		if h.Name == "" || h.Value == "" {
			at(n.Line, "adapter %q: spec.headers[%d] needs both name and value", d.Metadata.Name, i)
			continue
		}
		a.Headers = append(a.Headers, &adminv1.Header{Name: h.Name, ValueTemplate: h.Value})
	}
	if ca := d.Spec.TLS.CAFile; ca != "" {
		if !filepath.IsAbs(ca) {
			ca = filepath.Join(filepath.Dir(filename), ca)
		}
		pem, err := readFile(ca)
		if err != nil {
			at(n.Line, "adapter %q: spec.tls.caFile: %v (paths are relative to the file's directory)", d.Metadata.Name, err)
		}
		a.Tls = &adminv1.UpstreamTls{CaPem: string(pem)}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return a, nil
}
