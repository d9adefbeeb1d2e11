package oauth

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// Error is an HTTP error answer: a status and a Stripe-shaped JSON body
// {"error":{"type","code","message"}}. An Authenticator returns one to
// refuse a request (its Status and Code are sent as they are), and the
// broker uses it for its own refusals. Messages say what was wrong and how
// to fix it, and never hold a secret.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Type is the Stripe error type: api_error for 5xx, else
// invalid_request_error.
func (e *Error) Type() string {
	if e.Status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// Error codes, stable: frontends and metrics key on them.
const (
	CodeProviderUnknown     = "oauth_provider_unknown"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeNotFound            = "not_found"
	CodeInvalidState        = "invalid_state"
	CodeNonceUnknown        = "nonce_unknown"
	CodeNonceExpired        = "nonce_expired"
	CodeNonceUsed           = "nonce_used"
	CodeNonceOwner          = "nonce_owner_mismatch"
	CodeMissingCode         = "missing_code"
	CodeProviderDenied      = "oauth_provider_error"
	CodeExchangeFailed      = "oauth_exchange_failed"
	CodeProviderUnavailable = "oauth_provider_unavailable"
	CodeLoginRequired       = "oauth_login_required"
	CodeRefreshFailed       = "oauth_refresh_failed"
	CodeWrongApp            = "oauth_wrong_app"
	CodeUserRequired        = "oauth_user_required"
	CodeInvalidPath         = "invalid_path"
	CodeBodyTooLarge        = "body_too_large"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeInternal            = "internal_error"
)

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// noStore marks every broker answer uncacheable: they carry codes, states
// or a user's API data.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *Error) {
	var b errorBody
	b.Error.Type, b.Error.Code, b.Error.Message = e.Type(), e.Code, e.Message
	writeJSON(w, e.Status, b)
}

// wantsJSON reports whether a browser endpoint's caller asked for JSON
// rather than a page.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Code}}<p><small>Error code: {{.Code}}</small></p>{{end}}</body></html>
`))

type pageData struct{ Title, Message, Code string }

// writePage answers a browser endpoint with a small HTML page that loads
// nothing (the URL holds a code, which a Referer must never carry).
func writePage(w http.ResponseWriter, status int, d pageData) {
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = page.Execute(w, d)
}

// writeBrowserError is writeError for the login and callback endpoints.
func writeBrowserError(w http.ResponseWriter, r *http.Request, e *Error) {
	if wantsJSON(r) {
		writeError(w, e)
		return
	}
	writePage(w, e.Status, pageData{Title: "Login failed", Message: e.Message, Code: e.Code})
}

// printableText keeps a provider-supplied string safe to show: printable
// ASCII, at most max bytes.
func printableText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}
