package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// tls reads the Atlas extensions spec.tls.caFile (a PEM file, relative to
// the configuration file) or spec.tls.caPem (the PEM bundle inline, as the
// admin API stores it) into a.Upstream.CAPEM.
func (p *parser) tls(a *model.Adapter, n *yaml.Node) bool {
	if n == nil || isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "adapter %q: spec.tls must be a mapping such as {caFile: ca.pem}, not a %s", a.Name, kindName(n))
		return false
	}
	fileNode, pemNode := lookup(n, "caFile"), lookup(n, "caPem")
	path, okFile := p.text(fileNode, fmt.Sprintf("adapter %q: spec.tls.caFile", a.Name))
	inline, okPEM := p.text(pemNode, fmt.Sprintf("adapter %q: spec.tls.caPem", a.Name))
	switch {
	case !okFile || !okPEM:
		return false
	case path != "" && inline != "":
		p.errorf(pemNode, "adapter %q: spec.tls has both caFile and caPem; keep one", a.Name)
		return false
	case path != "":
		return p.caFile(a, fileNode, path)
	case inline != "":
		return p.caPEM(a, pemNode, []byte(inline))
	}
	return true
}

// caFile reads and checks the CA bundle at path.
func (p *parser) caFile(a *model.Adapter, fileNode *yaml.Node, path string) bool {
	if a.Upstream.Scheme == "http" {
		p.errorf(fileNode, "adapter %q: spec.tls.caFile is set but baseUrl uses http://; use https:// or remove tls.caFile", a.Name)
		return false
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	data, err := p.opts.ReadFile(path)
	if err != nil {
		p.errorf(fileNode, "adapter %q: spec.tls.caFile: %w (paths are relative to the configuration file's directory)", a.Name, err)
		return false
	}
	if err := checkCABundle(data); err != nil {
		p.errorf(fileNode, "adapter %q: spec.tls.caFile %s: %w", a.Name, printable(path), err)
		return false
	}
	a.Upstream.CAPEM = data
	return true
}

// caPEM checks an inline CA bundle.
func (p *parser) caPEM(a *model.Adapter, pemNode *yaml.Node, data []byte) bool {
	if a.Upstream.Scheme == "http" {
		p.errorf(pemNode, "adapter %q: spec.tls.caPem is set but baseUrl uses http://; use https:// or remove tls.caPem", a.Name)
		return false
	}
	if err := checkCABundle(data); err != nil {
		p.errorf(pemNode, "adapter %q: spec.tls.caPem: %w", a.Name, err)
		return false
	}
	a.Upstream.CAPEM = data
	return true
}

// checkCABundle accepts PEM data holding one or more parseable certificates
// and nothing else.
func checkCABundle(data []byte) error {
	count := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			// Never echo the block: it may be a private key.
			return fmt.Errorf("contains a %s PEM block; a CA bundle holds only CERTIFICATE blocks", printable(block.Type))
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate #%d does not parse: %w", count+1, err)
		}
		count++
	}
	if count == 0 {
		return errors.New("contains no PEM CERTIFICATE block; it must be a PEM CA bundle (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}
