// Package audit writes Atlas's audit log: one JSON line (log/slog) per
// request that went through a Stripe App signature check, allowed or denied.
//
// A line says when, which filter and adapter, the method and path as Envoy
// saw them (without the query string, which may carry tokens), the request
// id, the decision and its reason, and — only when the signature verified —
// the account and user it vouched for. It never holds a secret, a
// signature, a header value other than those, or a body: Log reads only
// the fields named here, so a credential in Decision.Set cannot leak.
//
// The log goes to an io.Writer (stdout or a file opened by Open) or
// nowhere (Disabled). Writes are synchronous, one Write per line, so lines
// from concurrent requests never interleave and none is lost on exit.
package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/atlas-gateway/atlas/internal/verify"
)

// Decision values.
const (
	Allow = "allow"
	Deny  = "deny"
)

// ReasonVerified is the reason of an allowed request; a denied one carries
// its denial code (signature_invalid, timestamp_outside_tolerance, …).
const ReasonVerified = "verified"

// Entry is one signature check, as the ext_proc or ext_authz server saw it.
type Entry struct {
	Filter    string // "extproc" or "extauthz"
	Adapter   string
	Method    string
	Path      string // :path as Envoy saw it; Log drops the query string
	RequestID string // x-request-id, when present
	Decision  verify.Decision
}

// Logger writes audit lines. The zero value and Disabled write nothing.
type Logger struct {
	log *slog.Logger
}

// New returns a Logger writing JSON lines to w.
func New(w io.Writer) *Logger {
	return &Logger{log: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))}
}

// Disabled returns a Logger that writes nothing.
func Disabled() *Logger { return &Logger{} }

// Enabled reports whether l writes lines.
func (l *Logger) Enabled() bool { return l != nil && l.log != nil }

// Open returns the Logger for the --audit-log setting dest: "stdout",
// "off", or a file path, opened for appending and created with mode 0600.
// The returned closer closes the file (a no-op otherwise).
func Open(dest string, stdout io.Writer) (*Logger, io.Closer, error) {
	switch dest {
	case "off", "":
		return Disabled(), io.NopCloser(nil), nil
	case "stdout", "-":
		return New(stdout), io.NopCloser(nil), nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the audit log %s: %w (pick a writable path, stdout, or off)", dest, err)
	}
	return New(f), f, nil
}

// Log writes one line for e.
func (l *Logger) Log(e Entry) {
	if !l.Enabled() {
		return
	}
	d := e.Decision
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("filter", e.Filter),
		slog.String("adapter", e.Adapter),
		slog.String("method", e.Method),
		slog.String("path", StripQuery(e.Path)),
	)
	if e.RequestID != "" {
		attrs = append(attrs, slog.String("request_id", e.RequestID))
	}
	if d.Allow {
		account, user := identity(d.Set)
		attrs = append(attrs,
			slog.String("decision", Allow),
			slog.String("reason", ReasonVerified),
			slog.String("account", account),
			slog.String("user", user))
	} else {
		attrs = append(attrs,
			slog.String("decision", Deny),
			slog.String("reason", d.Code),
			slog.Int("status", d.Status))
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "signature check", attrs...)
}

// StripQuery returns path without its query string and fragment.
func StripQuery(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		return path[:i]
	}
	return path
}

// identity picks the verified account and user out of the headers an
// allowed request gets; every other header (credentials) is ignored.
func identity(set []verify.Header) (account, user string) {
	for _, h := range set {
		switch h.Name {
		case verify.HeaderVerifiedAccount:
			account = h.Value
		case verify.HeaderVerifiedUser:
			user = h.Value
		}
	}
	return account, user
}
