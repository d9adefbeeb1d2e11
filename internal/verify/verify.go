// Package verify decides what happens to a request on a route that requires
// a Stripe App signature. It is pure and transport-neutral: the ext_proc and
// ext_authz servers both convert their Envoy messages into an Input, call
// Engine.Decide, and convert the Decision back, so the two filters cannot
// drift apart.
//
// On success the request loses its signature headers, gains the adapter's
// credentials and the verified identity (IdentityHeaders), and, for adapters
// with onBehalfOf, Stripe-Account set to the verified account. On failure
// nothing is forwarded and the caller gets a Stripe-shaped 401 (or 413 for a
// body over the limit) that names the failed check and reveals no secret.
package verify

import (
	"fmt"
	"strings"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/stripesig"
)

// Identity headers an app's backend reads. They carry no "X-" prefix (RFC
// 6648), say who vouches for them (Atlas) and that they were verified, and
// do not reuse Stripe's own header names, which mean something else upstream.
// Atlas always overwrites them on signed routes and strips client copies on
// every other route, so a backend may trust them when it is reachable only
// through Atlas.
const (
	HeaderVerifiedUser    = "Atlas-Verified-User-Id"
	HeaderVerifiedAccount = "Atlas-Verified-Account-Id"
	HeaderVerifiedApp     = "Atlas-Verified-Stripe-App"
	// HeaderStripeAccount is Stripe's connected-account header.
	HeaderStripeAccount = "Stripe-Account"
)

// IdentityHeaders are the headers only Atlas may set.
var IdentityHeaders = []string{HeaderVerifiedUser, HeaderVerifiedAccount, HeaderVerifiedApp}

// SignatureHeaders are removed after a successful verification.
var SignatureHeaders = []string{"stripe-signature", "stripe-user", "stripe-user-id", "stripe-account-id"}

// CodeBodyTooLarge and CodeUnknownAdapter complete stripesig's codes.
const (
	CodeBodyTooLarge   = "body_too_large"
	CodeUnknownAdapter = "unknown_adapter"
)

// Input is what a transport extracted from one request. Header fields are
// the raw values ("" when absent); header names are matched
// case-insensitively by the transport.
type Input struct {
	Adapter       string
	Method        string
	Signature     string // Stripe-Signature
	StripeUser    string // stripe-user
	UserID        string // stripe-user-id
	AccountID     string // stripe-account-id
	StripeAccount string // Stripe-Account sent by the client
	// Body is the buffered request body; only used for BodyMethods.
	Body []byte
}

// Header is one header to set on the forwarded request.
type Header struct{ Name, Value string }

// Decision is the outcome for one request.
type Decision struct {
	Allow bool
	// On Allow: headers to set (overwriting) and to remove.
	Set    []Header
	Remove []string
	// On deny: the HTTP status, a stable code and a message for the caller.
	Status  int
	Code    string
	Message string
}

// BodyMethods sign the raw body instead of the stripe-user headers.
func BodyMethods(method string) bool {
	switch strings.ToUpper(method) {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

// policy is one signed adapter's precomputed verification settings.
type policy struct {
	app        string
	verifier   *stripesig.Verifier
	onBehalfOf bool
	creds      []Header
	maxBody    int64
}

// Engine holds a policy per signed adapter; it is immutable.
type Engine struct {
	policies map[string]*policy
}

// New builds an Engine for every adapter of cfg that has spec.stripeApp.
func New(cfg *model.Config) (*Engine, error) {
	e := &Engine{policies: map[string]*policy{}}
	for _, a := range cfg.Adapters {
		if a.StripeApp == nil {
			continue
		}
		app, ok := cfg.StripeApp(a.StripeApp.Name)
		if !ok {
			return nil, fmt.Errorf("adapter %q (%s) names StripeApp %q, which does not exist", a.Name, a.Source, a.StripeApp.Name)
		}
		secrets := make([][]byte, len(app.SigningSecrets))
		for i, s := range app.SigningSecrets {
			secrets[i] = []byte(s)
		}
		v, err := stripesig.NewVerifier(secrets, app.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("StripeApp %q (%s): %w", app.Name, app.Source, err)
		}
		p := &policy{app: app.Name, verifier: v, onBehalfOf: a.StripeApp.OnBehalfOf, maxBody: int64(app.MaxBodyBytes)}
		if p.maxBody == 0 {
			p.maxBody = model.DefaultMaxBodyBytes
		}
		for _, h := range a.Headers {
			p.creds = append(p.creds, Header{h.Name, h.Value})
		}
		e.policies[a.Name] = p
	}
	return e, nil
}

// Signed reports whether adapter requires a signature.
func (e *Engine) Signed(adapter string) bool { _, ok := e.policies[adapter]; return ok }

// MaxBody is the body limit of a signed adapter (0 if not signed).
func (e *Engine) MaxBody(adapter string) int64 {
	if p, ok := e.policies[adapter]; ok {
		return p.maxBody
	}
	return 0
}

// CheckLength refuses a declared Content-Length over the adapter's limit
// before any body is buffered. It returns nil when the request may go on.
func (e *Engine) CheckLength(adapter string, contentLength int64) *Decision {
	p, ok := e.policies[adapter]
	if !ok || contentLength <= p.maxBody {
		return nil
	}
	return tooLarge(p.maxBody)
}

// TooLarge is the 413 for a body over the limit of adapter.
func (e *Engine) TooLarge(adapter string) Decision { return *tooLarge(e.MaxBody(adapter)) }

func tooLarge(limit int64) *Decision {
	return &Decision{Status: 413, Code: CodeBodyTooLarge,
		Message: fmt.Sprintf("The request body is larger than this adapter's limit of %d bytes for signed requests; send a smaller body, or raise spec.maxBodyBytes on the StripeApp.", limit)}
}

// Decide verifies in and returns what to do with the request.
func (e *Engine) Decide(in Input, now time.Time) Decision {
	p, ok := e.policies[in.Adapter]
	if !ok {
		return Decision{Status: 404, Code: CodeUnknownAdapter, Message: "This adapter does not exist (any more); check the adapter name in the URL."}
	}
	req := stripesig.Request{Signature: in.Signature, StripeUser: in.StripeUser, UserID: in.UserID, AccountID: in.AccountID}
	if BodyMethods(in.Method) {
		if int64(len(in.Body)) > p.maxBody {
			return *tooLarge(p.maxBody)
		}
		req.Body = in.Body
	}
	id, err := p.verifier.VerifyRequest(req, now)
	if err != nil {
		return deny(err)
	}
	if in.StripeAccount != "" && in.StripeAccount != id.AccountID {
		return Decision{Status: 401, Code: string(stripesig.CodeIdentityMismatch),
			Message: "The Stripe-Account header names a different account than the signed account_id; remove Stripe-Account, Atlas sets it from the verified signature."}
	}
	d := Decision{Allow: true, Remove: SignatureHeaders}
	d.Set = make([]Header, 0, len(p.creds)+4)
	d.Set = append(d.Set, p.creds...)
	d.Set = append(d.Set,
		Header{HeaderVerifiedUser, id.UserID},
		Header{HeaderVerifiedAccount, id.AccountID},
		Header{HeaderVerifiedApp, p.app})
	if p.onBehalfOf {
		d.Set = append(d.Set, Header{HeaderStripeAccount, id.AccountID})
	}
	return d
}

func deny(err error) Decision {
	code := stripesig.CodeOf(err)
	msg := "The Stripe App signature could not be verified."
	var se *stripesig.Error
	if e, ok := err.(*stripesig.Error); ok {
		se = e
	}
	if se != nil {
		msg = se.Message
	}
	if code == "" {
		code = stripesig.CodeSignatureInvalid
	}
	return Decision{Status: 401, Code: string(code), Message: msg}
}

// AddHeader records one request header that verification reads, whatever
// the transport. Names match case-insensitively; a repeated header is
// joined with "," (as Envoy merges them), so a forged copy next to a genuine
// one never passes as the genuine one.
func (in *Input) AddHeader(name, value string) {
	switch strings.ToLower(name) {
	case ":method":
		in.Method = value
	case "stripe-signature":
		join(&in.Signature, value)
	case "stripe-user":
		join(&in.StripeUser, value)
	case "stripe-user-id":
		join(&in.UserID, value)
	case "stripe-account-id":
		join(&in.AccountID, value)
	case "stripe-account":
		join(&in.StripeAccount, value)
	}
}

func join(dst *string, v string) {
	if *dst == "" {
		*dst = v
		return
	}
	*dst += "," + v
}
