package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

// A StripeApp's spec.oauthProviders declares the third-party OAuth APIs
// the app's users log in to through Atlas (docs/oauth.md):
//
//	spec:
//	  oauthProviders:
//	  - name: github
//	    authorizeUrl: https://github.com/login/oauth/authorize
//	    tokenUrl: https://github.com/login/oauth/access_token
//	    clientId: Iv1.0123456789abcdef
//	    clientSecret: ${{ GITHUB_CLIENT_SECRET }}
//	    scopes: [repo, read:user]
//	    apiBaseUrl: https://api.github.com
//	    pkce: true
//	    redirectUrl: https://atlas.example.com/v1/oauth/github/callback

// oauthProviderFields are the keys of one spec.oauthProviders entry.
var oauthProviderFields = []string{"name", "authorizeUrl", "tokenUrl", "clientId", "clientSecret", "clientAuth", "scopes", "apiBaseUrl", "pkce", "redirectUrl"}

// Limits of spec.oauthProviders.
const (
	MaxOAuthProviders = 32
	maxOAuthScopes    = 64
)

// oauthProviders reads spec.oauthProviders of the StripeApp called app.
// Names are checked within the app here and across apps by
// uniqueOAuthProviders.
func (p *parser) oauthProviders(app string, spec *yaml.Node) ([]model.OAuthProvider, bool) {
	field := fmt.Sprintf("StripeApp %q: spec.oauthProviders", app)
	n := lookup(spec, "oauthProviders")
	switch {
	case n == nil || isNull(n):
		return nil, true
	case n.Kind != yaml.SequenceNode:
		p.errorf(n, "%s must be a list of providers (`- name: github` …), not a %s", field, kindName(n))
		return nil, false
	case len(n.Content) > MaxOAuthProviders:
		p.errorf(n, "%s lists %d providers; at most %d are allowed", field, len(n.Content), MaxOAuthProviders)
		return nil, false
	}
	var out []model.OAuthProvider
	ok := true
	seen := map[string]*yaml.Node{}
	for i, item := range n.Content {
		item = resolve(item)
		prov, good := p.oauthProvider(fmt.Sprintf("%s[%d]", field, i), item, n)
		if !good {
			ok = false
			continue
		}
		nameNode := lookup(item, "name")
		if first, dup := seen[prov.Name]; dup {
			p.errorf(nameNode, "%s: provider name %q is used twice in this app (first at %s); provider names must be unique", field, prov.Name, p.pos(first))
			ok = false
			continue
		}
		seen[prov.Name] = nameNode
		out = append(out, prov)
	}
	return out, ok
}

func (p *parser) oauthProvider(field string, item, list *yaml.Node) (model.OAuthProvider, bool) {
	if item == nil || item.Kind != yaml.MappingNode {
		p.errorf(orNode(item, list), "%s must be a mapping with name, authorizeUrl, tokenUrl, clientId, clientSecret, apiBaseUrl and redirectUrl", field)
		return model.OAuthProvider{}, false
	}
	prov := model.OAuthProvider{Source: p.pos(item), ClientAuth: model.OAuthClientAuthBasic}
	nameNode := lookup(item, "name")
	name, ok := p.requiredText(item, nameNode, field+".name", "name the provider, e.g. github; it becomes the path segment of /v1/oauth/NAME/…")
	if !ok {
		return prov, false
	}
	if err := validateName("OAuth provider", name); err != nil {
		p.errorf(nameNode, "%s: %w", field, err)
		return prov, false
	}
	prov.Name = name
	field = fmt.Sprintf("%s (%s)", field, name)
	p.unknownKeys(item, field, oauthProviderFields)

	valid := true
	check := func(good bool) {
		if !good {
			valid = false
		}
	}
	prov.AuthorizeURL, ok = p.oauthURL(item, "authorizeUrl", field, "the provider's authorization endpoint, e.g. https://github.com/login/oauth/authorize", true)
	check(ok)
	prov.TokenURL, ok = p.oauthURL(item, "tokenUrl", field, "the provider's token endpoint, e.g. https://github.com/login/oauth/access_token", true)
	check(ok)
	prov.RedirectURL, ok = p.oauthRedirectURL(item, field, name)
	check(ok)
	prov.APIBaseURL, ok = p.oauthAPIBase(item, field)
	check(ok)
	prov.ClientID, ok = p.requiredText(item, lookup(item, "clientId"), field+".clientId", "set the client id the provider issued when the app was registered")
	check(ok)
	prov.PKCE, ok = p.oauthBool(item, "pkce", field)
	check(ok)
	prov.ClientSecret, ok = p.oauthClientSecret(item, field, prov.PKCE)
	check(ok)
	prov.ClientAuth, ok = p.oauthClientAuth(item, field)
	check(ok)
	prov.Scopes, ok = p.oauthScopes(item, field)
	check(ok)
	return prov, valid
}

// oauthURL reads an absolute http(s) URL; withQuery allows a query string
// (authorization endpoints may carry fixed parameters).
func (p *parser) oauthURL(item *yaml.Node, key, field, what string, withQuery bool) (string, bool) {
	n := lookup(item, key)
	raw, ok := p.requiredText(item, n, field+"."+key, "set it to "+what+misspelled(item, key))
	if !ok {
		return "", false
	}
	u, err := parseOAuthURL(raw, withQuery)
	if err != nil {
		p.errorf(n, "%s.%s: %w", field, key, err)
		return "", false
	}
	p.warnCleartext(n, field+"."+key, u)
	return u.String(), true
}

// parseOAuthURL accepts an absolute http or https URL with a host, no user
// information and no fragment. Its errors never repeat the URL.
func parseOAuthURL(raw string, withQuery bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("not a valid URL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, errors.New("must be an absolute https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("has no host; write it as https://host[:port]/path")
	case u.User != nil:
		return nil, errors.New("must not contain user information (credentials)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("must not contain a fragment (#…)")
	case !withQuery && (u.RawQuery != "" || u.ForceQuery):
		return nil, errors.New("must not contain a query string (?…)")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("port %s is not between 1 and 65535", printable(port))
		}
	}
	return u, nil
}

// warnCleartext warns about http:// to anything but the loopback
// interface: codes, tokens and the client secret would cross the network
// in clear text.
func (p *parser) warnCleartext(n *yaml.Node, field string, u *url.URL) {
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return
	}
	p.warnf(n, "%s uses http://, so codes, tokens and the client secret cross the network unencrypted; use https:// (http is for loopback test servers)", field)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oauthRedirectURL reads redirectUrl. Atlas cannot derive it from requests:
// behind Envoy and load balancers the Host and scheme it sees are not what
// the browser used, trusting a client's Host would let anyone send codes
// elsewhere, and the provider compares it byte for byte with the URL
// registered for the client, in both the login and the code exchange.
func (p *parser) oauthRedirectURL(item *yaml.Node, field, name string) (string, bool) {
	n := lookup(item, "redirectUrl")
	wantPath := "/v1/oauth/" + name + "/callback"
	hint := fmt.Sprintf("set it to Atlas's public callback URL as registered at the provider, e.g. https://atlas.example.com%s%s", wantPath, misspelled(item, "redirectUrl"))
	raw, ok := p.requiredText(item, n, field+".redirectUrl", hint)
	if !ok {
		return "", false
	}
	u, err := parseOAuthURL(raw, false)
	if err != nil {
		p.errorf(n, "%s.redirectUrl: %w", field, err)
		return "", false
	}
	p.warnCleartext(n, field+".redirectUrl", u)
	if u.EscapedPath() != wantPath {
		p.warnf(n, "%s.redirectUrl has path %s, but Atlas serves the callback at %s; unless a proxy in front of Atlas rewrites the path, the provider's redirect will not reach Atlas", field, printable(u.EscapedPath()), wantPath)
	}
	return u.String(), true
}

func (p *parser) oauthAPIBase(item *yaml.Node, field string) (string, bool) {
	n := lookup(item, "apiBaseUrl")
	raw, ok := p.requiredText(item, n, field+".apiBaseUrl", "set it to the API that /v1/apis/oauth/NAME/… forwards to, e.g. https://api.github.com"+misspelled(item, "apiBaseUrl"))
	if !ok {
		return "", false
	}
	if _, err := ParseBaseURL(raw); err != nil {
		p.errorf(n, "%s.apiBaseUrl: %s", field, strings.TrimPrefix(err.Error(), "baseUrl "))
		return "", false
	}
	u, _ := url.Parse(raw) // ParseBaseURL accepted it
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	p.warnCleartext(n, field+".apiBaseUrl", u)
	return u.String(), true
}

// oauthClientSecret reads clientSecret: required unless the provider is a
// PKCE public client. Messages name the variable, never the value.
func (p *parser) oauthClientSecret(item *yaml.Node, field string, pkce bool) (string, bool) {
	n := lookup(item, "clientSecret")
	f := field + ".clientSecret"
	if n == nil || isNull(n) {
		if pkce {
			return "", true // a public client: PKCE alone proves the caller
		}
		p.errorf(item, "%s is missing; set it to the provider's client secret as ${{ NAME }} (or ${{ secret:NAME }}), or turn on pkce for a public client%s", f, misspelled(item, "clientSecret"))
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a string such as ${{ GITHUB_CLIENT_SECRET }}, not a %s", f, kindName(n))
		return "", false
	}
	secret, ok := p.text(n, f)
	if !ok {
		return "", false
	}
	from := sourceOf(n.Value)
	if secret == "" {
		p.errorf(n, "%s%s is empty; set it to the provider's client secret", f, fromSuffix(from))
		return "", false
	}
	if i := strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		p.errorf(n, "%s%s contains whitespace or a control character at byte %d; remove it (often a trailing newline in the variable)", f, fromSuffix(from), i)
		return "", false
	}
	if from == "" {
		p.warnf(n, "%s is written in the file; keep it out of the file with ${{ NAME }} (an environment variable) or ${{ secret:NAME }} (the admin API's secret store)", f)
	}
	return secret, true
}

func (p *parser) oauthClientAuth(item *yaml.Node, field string) (string, bool) {
	n := lookup(item, "clientAuth")
	s, ok := p.text(n, field+".clientAuth")
	switch {
	case !ok:
		return "", false
	case s == "":
		return model.OAuthClientAuthBasic, true
	case s == model.OAuthClientAuthBasic || s == model.OAuthClientAuthPost:
		return s, true
	}
	p.errorf(n, "%s.clientAuth is %s; use basic (HTTP Basic, the default) or post (client_id and client_secret in the form)", field, shown(n, s))
	return "", false
}

func (p *parser) oauthBool(item *yaml.Node, key, field string) (bool, bool) {
	n := lookup(item, key)
	if n == nil || isNull(n) {
		return false, true
	}
	v, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
		what := "a " + kindName(n)
		if n.Kind == yaml.ScalarNode {
			what = printable(n.Value)
		}
		p.errorf(n, "%s.%s is %s; it must be true or false (unquoted)", field, key, what)
		return false, false
	}
	return v, true
}

// oauthScopes reads scopes: a list of scope tokens (RFC 6749 section 3.3),
// sent space-separated.
func (p *parser) oauthScopes(item *yaml.Node, field string) ([]string, bool) {
	n := lookup(item, "scopes")
	f := field + ".scopes"
	switch {
	case n == nil || isNull(n):
		return nil, true
	case n.Kind != yaml.SequenceNode:
		p.errorf(n, "%s must be a list such as [repo, read:user], not a %s", f, kindName(n))
		return nil, false
	case len(n.Content) > maxOAuthScopes:
		p.errorf(n, "%s lists %d scopes; at most %d are allowed", f, len(n.Content), maxOAuthScopes)
		return nil, false
	}
	var out []string
	ok := true
	for i, item := range n.Content {
		s, good := p.text(resolve(item), fmt.Sprintf("%s[%d]", f, i))
		if !good {
			ok = false
			continue
		}
		if s == "" || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r >= 0x7f }) >= 0 {
			p.errorf(orNode(resolve(item), n), "%s[%d] is %s; a scope is one non-empty token without spaces, quotes or backslashes (list several scopes as separate entries)", f, i, shown(item, s))
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

// linkOAuthProviders runs once all StripeApp documents are read. It
// reports provider names used by more than one StripeApp (a name is a path
// segment of /v1/oauth/{name}/…, so it must pick one provider), and marks
// apps that declare providers as used: the OAuth broker serves them even
// when no adapter names them. apps are the StripeApp documents, duplicates
// already reported (byName holds the first of each name).
func (p *parser) linkOAuthProviders(apps []*stripeAppDoc, byName map[string]*stripeAppDoc) {
	type first struct {
		app  string
		node *yaml.Node
	}
	seen := map[string]first{}
	for _, s := range apps {
		if byName[s.name] != s {
			continue
		}
		list := lookup(lookup(s.node, "spec"), "oauthProviders")
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		if len(list.Content) > 0 {
			s.used = true
		}
		names := map[string]bool{} // within one app: reported by oauthProviders
		for _, item := range list.Content {
			n := lookup(item, "name")
			name := rawScalar(n)
			if name == "" || names[name] || validateName("OAuth provider", name) != nil {
				continue
			}
			names[name] = true
			if f, dup := seen[name]; dup {
				p.errorf(n, "StripeApp %q: OAuth provider name %q is already used by StripeApp %q (at %s); provider names are path segments of /v1/oauth/NAME/…, so they must be unique across apps", s.name, name, f.app, p.pos(f.node))
				continue
			}
			seen[name] = first{s.name, n}
		}
	}
}
