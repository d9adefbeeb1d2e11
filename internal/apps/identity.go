package apps

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// Caller is who a request comes from, as Authenticate established it.
type Caller struct {
	// App is the StripeApp the request is for.
	App string
	// Account is the Stripe account (acct_…): the signed account_id for
	// the frontend, the Stripe-Account header for the backend.
	Account string
	// User is the signed user_id (usr_…); empty for the backend, which
	// acts for the whole account and names users explicitly.
	User string
	// Backend is true for the app's backend (its spec.appKey), false for
	// the app's signed frontend.
	Backend bool
}

// ReadBody reads r's body, refusing one over the request's StripeApp's
// spec.maxBodyBytes with a 413, before Authenticate verifies it.
func (s *Server) ReadBody(r *http.Request) ([]byte, *APIError) {
	a, apiErr := s.state.Load().pick(r)
	if apiErr != nil {
		return nil, apiErr
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > a.maxBody {
		return nil, tooLarge(a.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, a.maxBody+1))
	if err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: CodeParameterInvalid, Message: "Atlas could not read the request body: " + err.Error()}
	}
	if int64(len(body)) > a.maxBody {
		return nil, tooLarge(a.maxBody)
	}
	return body, nil
}

func tooLarge(limit int64) *APIError {
	return &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: fmt.Sprintf(
		"The request body is larger than the StripeApp's limit of %d bytes; send a smaller body, or raise spec.maxBodyBytes on the StripeApp.", limit)}
}

// Authenticate establishes who sent r, whose body (already read, see
// ReadBody) is body. Two callers are accepted:
//
//   - the app's backend: `Authorization: Bearer <spec.appKey>` (or Basic
//     with the key as the user name, as Stripe accepts its keys) plus
//     `Stripe-Account: acct_…`, which is how stripe-go sends a key and
//     params.SetStripeAccount;
//   - the app's frontend, signed like any Stripe App request. The signed
//     payload is the stripe-user header, or stripe-user-id and
//     stripe-account-id rebuilt, whenever one is present: these endpoints
//     take form-encoded parameters like Stripe's, which are not JSON and
//     so cannot be the signed payload. Only with none of those headers (or
//     when they do not verify but the body does) is the body the payload:
//     a JSON body with user_id and account_id.
//
// Repeated headers are joined, so a forged copy cannot hide behind a
// genuine one. A frontend request's Stripe-Account, if sent, must name the
// signed account. Failures are 401 (400 when the StripeApp cannot be
// chosen, 413 for a body over the limit).
func (s *Server) Authenticate(r *http.Request, body []byte) (Caller, *APIError) {
	a, apiErr := s.state.Load().pick(r)
	if apiErr != nil {
		return Caller{}, apiErr
	}
	return s.authenticate(a, r, body)
}

// AuthenticateApp is Authenticate for a request whose StripeApp is already
// known, such as an OAuth provider's (provider names are unique across
// apps): it verifies against that app's secrets and key alone, and ignores
// Atlas-Stripe-App. An app not in the configuration is a 404.
func (s *Server) AuthenticateApp(r *http.Request, body []byte, appName string) (Caller, *APIError) {
	a, ok := s.state.Load().apps[appName]
	if !ok {
		return Caller{}, &APIError{Status: http.StatusNotFound, Code: CodeUnknownStripeApp, Message: fmt.Sprintf(
			"StripeApp %q is not in this Atlas configuration (any more); reload the app, or check the configuration.", appName)}
	}
	return s.authenticate(a, r, body)
}

func (s *Server) authenticate(a *app, r *http.Request, body []byte) (Caller, *APIError) {
	if int64(len(body)) > a.maxBody {
		return Caller{}, tooLarge(a.maxBody)
	}
	if auth := joined(r.Header, "Authorization"); auth != "" {
		return s.backend(a, auth, joined(r.Header, "Stripe-Account"))
	}
	return s.frontend(a, r, body)
}

func (s *Server) backend(a *app, auth, account string) (Caller, *APIError) {
	key, ok := credential(auth)
	if !ok {
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: CodeAuthorizationScheme,
			Message: "The Authorization header is not `Bearer <key>`; the app's backend sends the StripeApp's spec.appKey as a Bearer token, as stripe-go does with its API key."}
	}
	if !a.hasKey {
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: CodeAppKeyNotConfigured, Message: fmt.Sprintf(
			"StripeApp %q has no spec.appKey, so only its signed frontend may call this API. Set spec.appKey (e.g. ${{ ATLAS_APP_KEY }}) to let the app's backend call it, or send a Stripe-Signature instead of an Authorization header.", a.name)}
	}
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], a.keyHash[:]) != 1 {
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: CodeAppKeyInvalid, Message: fmt.Sprintf(
			"Invalid app key provided. The app's backend must send StripeApp %q's spec.appKey as `Authorization: Bearer <key>`.", a.name)}
	}
	switch {
	case account == "":
		return Caller{}, &APIError{Status: http.StatusBadRequest, Code: CodeStripeAccountNeeded,
			Message: "The app's backend must name the Stripe account it acts for in the Stripe-Account header (acct_…); with stripe-go, call params.SetStripeAccount."}
	case !validAccount(account):
		return Caller{}, &APIError{Status: http.StatusBadRequest, Code: CodeStripeAccountBad,
			Message: "The Stripe-Account header is not a Stripe account id; send one such as acct_1032D82eZvKYlo2C."}
	}
	return Caller{App: a.name, Account: account, Backend: true}, nil
}

// credential extracts the key from `Bearer <key>` or `Basic
// base64(<key>:)`. Scheme names are case-insensitive (RFC 9110).
func credential(auth string) (string, bool) {
	scheme, rest, ok := strings.Cut(auth, " ")
	rest = strings.TrimLeft(rest, " ")
	if !ok || rest == "" {
		return "", false
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return rest, true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user, user != ""
	}
	return "", false
}

func (s *Server) frontend(a *app, r *http.Request, body []byte) (Caller, *APIError) {
	req := stripesig.Request{
		Signature:  joined(r.Header, "Stripe-Signature"),
		StripeUser: joined(r.Header, "Stripe-User"),
		UserID:     joined(r.Header, "Stripe-User-Id"),
		AccountID:  joined(r.Header, "Stripe-Account-Id"),
	}
	if req.Signature == "" {
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: string(stripesig.CodeSignatureMissing),
			Message: "The request is not authenticated. The app's frontend sends the Stripe-Signature from fetchStripeSignature() with the stripe-user header; the app's backend sends `Authorization: Bearer <spec.appKey>` and Stripe-Account."}
	}
	headerPayload := req.StripeUser != "" || req.UserID != "" || req.AccountID != ""
	if !headerPayload {
		req.Body = body
	}
	now := s.now()
	id, err := a.verifier.VerifyRequest(req, now)
	if err != nil && headerPayload && len(body) > 0 {
		// A frontend that signed its JSON body and also sent stripe-user:
		// the body is then the payload, and stripe-user must agree with it.
		req.Body = body
		if bodyID, bodyErr := a.verifier.VerifyRequest(req, now); bodyErr == nil {
			id, err = bodyID, nil
		}
	}
	if err != nil {
		code := stripesig.CodeOf(err)
		if code == "" {
			code = stripesig.CodeSignatureInvalid
		}
		msg := "The Stripe App signature could not be verified."
		if se, ok := err.(*stripesig.Error); ok {
			msg = se.Message
		}
		if !headerPayload && (code == stripesig.CodeSignatureInvalid || code == stripesig.CodePayloadNotJSON || code == stripesig.CodePayloadMissing) {
			msg = strings.TrimSuffix(msg, ".") + ". Form-encoded parameters are not a signed payload: send the signed stripe-user header (or stripe-user-id and stripe-account-id) with them."
		}
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: string(code), Message: msg}
	}
	if acct := joined(r.Header, "Stripe-Account"); acct != "" && acct != id.AccountID {
		return Caller{}, &APIError{Status: http.StatusUnauthorized, Code: string(stripesig.CodeIdentityMismatch),
			Message: "The Stripe-Account header names a different account than the signed account_id; remove it, the signature says which account this is."}
	}
	return Caller{App: a.name, Account: id.AccountID, User: id.UserID}, nil
}

// validAccount accepts acct_ followed by letters and digits.
func validAccount(s string) bool {
	rest, ok := strings.CutPrefix(s, "acct_")
	if !ok || rest == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
