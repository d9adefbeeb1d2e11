package model

// Client authentication methods at a provider's token endpoint
// (OAuthProvider.ClientAuth), as RFC 6749 section 2.3.1 names them.
const (
	// OAuthClientAuthBasic sends client_id and client_secret as HTTP Basic
	// credentials, which every OAuth 2.0 server must accept.
	OAuthClientAuthBasic = "basic"
	// OAuthClientAuthPost sends them as form fields of the token request.
	OAuthClientAuthPost = "post"
)

// OAuthProvider is one entry of a StripeApp's spec.oauthProviders: a
// third-party OAuth 2.0 API that the app's users log in to through Atlas's
// broker (internal/oauth), which then calls the API for them.
type OAuthProvider struct {
	// Name is the provider's URL path segment in /v1/oauth/{Name}/… and
	// /v1/apis/oauth/{Name}/…; unique across all StripeApps.
	Name string
	// AuthorizeURL is where the user's browser is sent to log in; it may
	// carry a query of its own (e.g. access_type=offline).
	AuthorizeURL string
	// TokenURL is where codes and refresh tokens are exchanged for tokens.
	TokenURL string
	// ClientID identifies the app registered at the provider.
	ClientID string
	// ClientSecret is a secret: never log it. Empty only with PKCE (a
	// public client).
	ClientSecret string
	// ClientAuth is how the client authenticates at TokenURL:
	// OAuthClientAuthBasic or OAuthClientAuthPost.
	ClientAuth string
	// Scopes are requested at login, space-separated in the scope parameter.
	Scopes []string
	// APIBaseURL is the API that /v1/apis/oauth/{Name}/… forwards to, with
	// no trailing slash.
	APIBaseURL string
	// PKCE adds an S256 code challenge to the login and the verifier to the
	// code exchange (RFC 7636).
	PKCE bool
	// RedirectURL is the callback URL exactly as the provider must see it
	// (and as it is registered there): Atlas's public
	// https://HOST/v1/oauth/{Name}/callback.
	RedirectURL string
	// Source is "file:line" of the entry, for messages.
	Source string
}

// OAuthProvider returns the provider with the given name and the StripeApp
// that declares it.
func (c *Config) OAuthProvider(name string) (*StripeApp, *OAuthProvider, bool) {
	for i := range c.StripeApps {
		app := &c.StripeApps[i]
		for j := range app.OAuthProviders {
			if app.OAuthProviders[j].Name == name {
				return app, &app.OAuthProviders[j], true
			}
		}
	}
	return nil, nil, false
}
