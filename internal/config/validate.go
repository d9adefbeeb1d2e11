package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atlas-gateway/atlas/internal/model"
)

// The validators below are shared with the mom CLI, which checks its flags
// with the same rules before editing a file. Their errors never contain the
// checked value when it may be a secret (URLs, header values).

var adapterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)

// maxAdapterName keeps names usable as an Envoy cluster/stat name fragment.
const maxAdapterName = 63

// ValidateAdapterName checks that name can be an adapter's metadata.name: a
// single URL path segment in /v1/apis/http/{name}/.
func ValidateAdapterName(name string) error { return validateName("adapter", name) }

// validateName applies the adapter name rules to any document's name; what
// ("adapter", "StripeApp") starts the message.
func validateName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case len(name) > maxAdapterName:
		return fmt.Errorf("%s name is %d characters long; use at most %d", what, len(name), maxAdapterName)
	case !adapterName.MatchString(name):
		return fmt.Errorf("%s name %s is not a single URL path segment: use lowercase letters, digits, '-', '.' and '_', starting and ending with a letter or digit (pattern [a-z0-9]([-a-z0-9._]*[a-z0-9])?)", what, printable(name))
	}
	return nil
}

// ParseBaseURL parses spec.baseUrl: an absolute http or https URL with a
// host and no user information, query or fragment.
func ParseBaseURL(raw string) (model.Upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the whole URL, which may hold credentials
		}
		return model.Upstream{}, fmt.Errorf("baseUrl is not a valid URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		return model.Upstream{}, errors.New("baseUrl has no scheme; write it as https://host[:port][/path]")
	case scheme != "http" && scheme != "https":
		return model.Upstream{}, fmt.Errorf("baseUrl scheme %s is not supported; use https:// (or http://)", printable(u.Scheme))
	case u.Opaque != "":
		return model.Upstream{}, errors.New("baseUrl is not absolute; write it as https://host[:port][/path]")
	case u.User != nil:
		return model.Upstream{}, errors.New("baseUrl must not contain user information (credentials); send them in a header instead, e.g. Authorization: Basic …")
	case u.RawQuery != "" || u.ForceQuery:
		return model.Upstream{}, errors.New("baseUrl must not contain a query string (?…); remove it")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return model.Upstream{}, errors.New("baseUrl must not contain a fragment (#…); remove it")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return model.Upstream{}, errors.New("baseUrl has no host; write it as https://host[:port][/path]")
	}
	if strings.Contains(host, "%") {
		return model.Upstream{}, errors.New("baseUrl host has an IPv6 zone (%…), which is not supported")
	}
	port := uint32(443)
	if scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return model.Upstream{}, fmt.Errorf("baseUrl port %s is not between 1 and 65535", printable(p))
		}
		port = uint32(n)
	} else if strings.HasSuffix(u.Host, ":") {
		return model.Upstream{}, errors.New("baseUrl has an empty port after ':'; remove the ':' or add a port")
	}
	path := u.EscapedPath()
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return model.Upstream{}, errors.New("baseUrl path must not contain . or .. segments")
		}
	}
	return model.Upstream{Scheme: scheme, Host: host, Port: port, BasePath: strings.TrimRight(path, "/")}, nil
}

// forbiddenHeaders are managed by Envoy or HTTP itself; injecting them would
// break framing or routing. Host is set from baseUrl.
var forbiddenHeaders = map[string]string{
	"host":               "the upstream Host is derived from baseUrl",
	"connection":         "it is a hop-by-hop header",
	"keep-alive":         "it is a hop-by-hop header",
	"proxy-connection":   "it is a hop-by-hop header",
	"transfer-encoding":  "it is a hop-by-hop header that controls message framing",
	"te":                 "it is a hop-by-hop header",
	"trailer":            "it is a hop-by-hop header",
	"upgrade":            "it is a hop-by-hop header",
	"content-length":     "it controls message framing",
	"proxy-authenticate": "it is a hop-by-hop header",
	"http2-settings":     "it is a hop-by-hop header",
	"expect":             "it changes how the request body is sent",
}

// ValidateHeaderName checks that name is an HTTP token that Atlas may inject.
func ValidateHeaderName(name string) error {
	if why := headerNameProblem(name); why != "" {
		return fmt.Errorf("header name %s %s", printable(name), why)
	}
	return nil
}

// headerNameProblem says what is wrong with name without repeating it, so a
// name produced by ${{ }} expansion is never echoed.
func headerNameProblem(name string) string {
	if name == "" {
		return "is empty"
	}
	if strings.HasPrefix(name, ":") {
		return "is an HTTP/2 pseudo-header and cannot be injected; the gateway sets it"
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Sprintf("is not a valid HTTP token (bad character at offset %d); use letters, digits and -", i)
		}
	}
	lower := strings.ToLower(name)
	if why, ok := forbiddenHeaders[lower]; ok {
		return "cannot be injected: " + why
	}
	if strings.HasPrefix(lower, "x-envoy-") {
		return "cannot be injected: Envoy manages x-envoy-* headers"
	}
	return ""
}

// ValidateHeaderValue checks a header value after ${{ }} expansion. The error
// never contains the value: it is usually a secret.
func ValidateHeaderValue(value string) error {
	if value == "" {
		return errors.New("value is empty")
	}
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '\r', c == '\n', c == 0:
			return fmt.Errorf("value contains a CR, LF or NUL character at byte %d (after ${{ }} expansion); remove it, e.g. a trailing newline in the environment variable", i)
		case c < 0x20 && c != '\t', c == 0x7f:
			return fmt.Errorf("value contains a control character at byte %d (after ${{ }} expansion); remove it", i)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
