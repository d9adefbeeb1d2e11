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
	"time"
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
	// StripeApps are the `kind: StripeApp` documents, sorted by Name. They
	// need no adapterRef; adapters point at them by name.
	StripeApps []StripeApp
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
	// StripeApp, when set, makes every request to this adapter carry a valid
	// Stripe App signature, verified at the edge before anything is forwarded.
	StripeApp *AdapterStripeApp
	// Source is "file:line" of the adapter document, for messages.
	Source string
}

// AdapterStripeApp is an adapter's spec.stripeApp.
type AdapterStripeApp struct {
	// Name is the StripeApp document whose secrets verify requests.
	Name string
	// OnBehalfOf sets Stripe-Account to the verified account_id.
	OnBehalfOf bool
}

// DefaultSignatureTolerance is Stripe's default for signed payloads.
const DefaultSignatureTolerance = 300 * time.Second

// DefaultMaxBodyBytes bounds a signed request body that must be buffered to
// be verified.
const DefaultMaxBodyBytes = 1 << 20

// StripeApp is a `kind: StripeApp` document (apiVersion atlas/v1alpha1).
type StripeApp struct {
	Name string
	// SigningSecrets are the app's signing secrets (absec_…); any may match,
	// which is how rotation works. They are secrets: never log them.
	SigningSecrets []string
	// Tolerance is how far a signature's timestamp may be from now, in
	// either direction.
	Tolerance time.Duration
	// MaxBodyBytes is the largest signed body accepted (413 above it).
	MaxBodyBytes uint32
	// Source is "file:line" of the document, for messages.
	Source string
	// OAuthProviders are the third-party OAuth APIs the app's users log in
	// to through Atlas (spec.oauthProviders), in file order. Their names
	// are unique across all StripeApps: they are URL path segments.
	OAuthProviders []OAuthProvider
	// AppKey is the key the app's own backend presents to Atlas's Secret
	// Store API (Authorization: Bearer), as stripe-go sends a Stripe key;
	// empty means only the app's signed frontend may call it. A secret:
	// never log it.
	AppKey string
}

// StripeApp returns the StripeApp with the given name.
func (c *Config) StripeApp(name string) (*StripeApp, bool) {
	for i := range c.StripeApps {
		if c.StripeApps[i].Name == name {
			return &c.StripeApps[i], true
		}
	}
	return nil, false
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
