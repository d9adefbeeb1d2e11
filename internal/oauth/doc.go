// Package oauth is Atlas's OAuth broker: it lets a Stripe App's users log
// in to a third-party OAuth 2.0 API (GitHub, Dropbox, Google, …) and then
// call that API through Atlas, which swaps the request's Stripe signature
// for the user's access token. It implements the "backend" of the sequence
// diagram in Stripe's "Making authenticated requests" guide, for providers
// declared in a StripeApp's spec.oauthProviders (docs/oauth.md).
//
// Endpoints (Handler), for each provider NAME:
//
//	GET    /v1/oauth/NAME/login?state=NONCE     unsigned (a browser window): 302 to the provider
//	GET    /v1/oauth/NAME/callback?code&state   unsigned (the provider's redirect): saves the code
//	GET    /v1/oauth/NAME/status?state=NONCE    signed poll: pending, or exchanges the code
//	DELETE /v1/oauth/NAME/tokens                signed logout: deletes the caller's tokens
//	*      /v1/apis/oauth/NAME/PATH             signed: forwarded to apiBaseUrl/PATH with a Bearer token
//
// The contract:
//
//   - A login (NONCE, 16 to 128 URL-safe characters chosen by the frontend)
//     lives 10 minutes and yields one code. The first signed poll binds it
//     to the verified (account, user); a poll signed by anyone else is
//     refused, and once the code is claimed a replay is nonce_used. So a
//     user who learns another's NONCE (it is in a URL) cannot claim their
//     login.
//   - Tokens are stored per (app, provider, account, user) from the
//     verified signature only, sealed at rest (internal/store). No token,
//     code, verifier or client secret is logged or put in an error.
//   - The PKCE verifier (S256) never leaves Atlas; the redirect URL is the
//     configured one, never derived from the request's Host.
//   - A proxied request is refreshed before it is sent when the access
//     token expires within 30 s, or once after the API answers 401 (the
//     request, buffered up to the app's maxBodyBytes, is then retried).
//     Concurrent requests of one user share one refresh. A refresh the
//     provider refuses with invalid_grant deletes the tokens.
//   - Every error is Stripe-shaped JSON, {"error":{"type","code","message"}},
//     except on the two browser endpoints, which answer with a small HTML
//     page unless the client asks for JSON.
//
// Signature verification is not done here: an Authenticator (the apps
// server's) verifies each signed request and says who signed it. The
// broker's own dependencies are small interfaces (Authenticator, Store)
// and a clock, so it is tested against a real OAuth 2.0 server
// (github.com/go-oauth2/oauth2) with a fake Authenticator.
package oauth
