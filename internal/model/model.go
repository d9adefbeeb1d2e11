// Package model is the validated domain that every other Atlas package reads.
//
// A *Config is produced by internal/config (from Moment's Atlas YAML) and is
// immutable once built: translators, the xDS server and the ext_proc/ext_authz
// services all read the same value, so a reload swaps one pointer and every
// consumer sees the same configuration. Header values hold expanded secrets;
// code that formats a Config for humans must use Header.Redacted.
package model

import (
	"fmt"
	"strconv"
)

// DefaultIngressPort is Moment's default for spec.exposedPorts.ingressHttpPort.
const DefaultIngressPort = 8082

// DefaultAdminPort is Moment's default for spec.exposedPorts.adminPort.
const DefaultAdminPort = 9000

// Config is a complete, validated Atlas configuration.
type Config struct {
	// IngressPort is the data-plane listener port (exposedPorts.ingressHttpPort).
	IngressPort uint32
	// AdminPort is the admin API port (exposedPorts.adminPort).
	AdminPort uint32
	// Adapters are the supported HTTP adapters referenced by the Atlas
	// document, sorted by Name.
	Adapters []Adapter
	// Warnings are non-fatal findings, such as adapters of kinds this Atlas
	// does not support. Each names the file:line it came from.
	Warnings []string
}

// Adapter is one `kind: HTTP` adapter, reachable at /v1/apis/http/{Name}/.
type Adapter struct {
	// Name is metadata.name; it is a single URL path segment.
	Name string
	// Upstream is where requests are forwarded (spec.baseUrl).
	Upstream Upstream
	// Headers are injected into every request, replacing any client copy.
	Headers []Header
	// Source is "file:line" of the adapter document, for messages.
	Source string
}

// Upstream is a parsed spec.baseUrl plus its TLS trust settings.
type Upstream struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is a DNS name or an IP literal (no brackets).
	Host string
	// Port is explicit or the scheme's default.
	Port uint32
	// BasePath is the base URL's path without a trailing slash ("" for none).
	BasePath string
	// CAPEM, when set, replaces the system trust store for this upstream.
	CAPEM []byte
}

// TLS reports whether the upstream is reached over TLS.
func (u Upstream) TLS() bool { return u.Scheme == "https" }

// HostHeader is the Host/:authority value sent upstream: the host, plus the
// port when it is not the scheme's default.
func (u Upstream) HostHeader() string {
	h := u.Host
	if isIPv6(h) {
		h = "[" + h + "]"
	}
	if (u.Scheme == "https" && u.Port == 443) || (u.Scheme == "http" && u.Port == 80) {
		return h
	}
	return h + ":" + strconv.FormatUint(uint64(u.Port), 10)
}

func isIPv6(h string) bool {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			return true
		}
	}
	return false
}

// Header is one injected header. Value is a secret once expanded.
type Header struct {
	Name  string
	Value string
}

// Redacted returns the header with its value hidden, for logs and errors.
func (h Header) Redacted() string {
	return fmt.Sprintf("%s: <redacted %d bytes>", h.Name, len(h.Value))
}

// Adapter returns the adapter with the given name.
func (c *Config) Adapter(name string) (*Adapter, bool) {
	for i := range c.Adapters {
		if c.Adapters[i].Name == name {
			return &c.Adapters[i], true
		}
	}
	return nil, false
}
