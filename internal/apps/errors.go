package apps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// Error types, as Stripe names them.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAPI            = "api_error"
)

// Error codes of the apps server. Signature failures use stripesig's codes
// (signature_invalid, timestamp_outside_tolerance, …); the others are
// below, or Stripe's own where one fits (parameter_missing,
// parameter_unknown, resource_missing).
const (
	CodeUnknownStripeApp    = "unknown_stripe_app"
	CodeStripeAppRequired   = "stripe_app_required"
	CodeAppKeyInvalid       = "app_key_invalid"
	CodeAppKeyNotConfigured = "app_key_not_configured"
	CodeAuthorizationScheme = "authorization_invalid"
	CodeStripeAccountNeeded = "stripe_account_required"
	CodeStripeAccountBad    = "stripe_account_invalid"
	CodeBodyTooLarge        = "body_too_large"
	CodeParameterMissing    = "parameter_missing"
	CodeParameterUnknown    = "parameter_unknown"
	CodeParameterInvalid    = "parameter_invalid"
	CodeParameterInteger    = "parameter_invalid_integer"
	CodeResourceMissing     = "resource_missing"
	CodeScopeForbidden      = "scope_forbidden"
	CodeSecretLimit         = "secret_limit_reached"
	CodeUnrecognizedURL     = "unrecognized_url"
	CodeInternal            = "internal_error"
)

// APIError is an error answered to the caller, shaped like Stripe's:
// {"error":{"type":…,"code":…,"param":…,"message":…}}. Message says what
// was wrong and how to fix it, and never holds a secret.
type APIError struct {
	Status  int    // HTTP status
	Type    string // TypeInvalidRequest when empty
	Code    string
	Param   string // the parameter at fault, if any
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// WriteError answers e as a Stripe-shaped JSON error.
func WriteError(w http.ResponseWriter, e *APIError) {
	typ := e.Type
	if typ == "" {
		typ = TypeInvalidRequest
	}
	if rec, ok := w.(*recorder); ok {
		rec.code = e.Code
	}
	body := struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code,omitempty"`
			Param   string `json:"param,omitempty"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Type, body.Error.Code, body.Error.Param, body.Error.Message = typ, e.Code, e.Param, e.Message
	writeJSON(w, e.Status, body)
}

func writeError(w http.ResponseWriter, _ *http.Request, e *APIError) { WriteError(w, e) }

// writeJSON writes v without HTML escaping, so a payload comes back byte
// for byte as it was stored.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"type":"api_error","code":"internal_error","message":"Atlas could not encode its response."}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func unrecognizedURL(r *http.Request) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: CodeUnrecognizedURL, Message: fmt.Sprintf(
		"Unrecognized request URL (%s: %s). Atlas serves the Secret Store at POST /v1/apps/secrets, GET /v1/apps/secrets, GET /v1/apps/secrets/find and POST /v1/apps/secrets/delete.",
		r.Method, r.URL.Path)}
}

func internalError(log *slog.Logger, what string, err error) *APIError {
	log.Error("apps: "+what, "error", err)
	return &APIError{Status: http.StatusInternalServerError, Type: TypeAPI, Code: CodeInternal,
		Message: "Atlas could not " + what + "; the error is in its log under this response's Request-Id. Retry shortly."}
}

type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the request-scoped logger (with its request_id) of a
// request served by Server.Handler, for handlers mounted with Handle.
func (s *Server) Logger(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}
