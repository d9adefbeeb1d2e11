package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The Stripe App Secret Store (the apps server's /v1/apps/secrets) keeps its
// secrets here, beside the admin API's. They are data, not configuration:
// writing one never fires Changes (no replica reloads its configuration),
// and they live in their own table.

// ErrLimit is returned (wrapped) when a new secret would exceed its scope's
// limit; replacing an existing name never does.
var ErrLimit = errors.New("limit reached")

// App secret scope types, as in Stripe's scope[type].
const (
	ScopeAccount = "account"
	ScopeUser    = "user"
)

// Limits of one app secret, as Stripe documents them.
const (
	MaxAppSecretName    = 5000 // characters
	MaxAppSecretPayload = 5000 // characters
	// MaxAppSecretIDPart bounds the app, account and user identifiers.
	MaxAppSecretIDPart = 255
)

// AppSecretScope is one scope of one app: every Dashboard user of Account
// shares its account scope; each user has a user scope of their own.
// User is empty for the account scope.
type AppSecretScope struct {
	App     string // the StripeApp's name
	Account string // acct_…
	Type    string // ScopeAccount or ScopeUser
	User    string // usr_… for ScopeUser
}

// AppSecretKey names one secret: a scope and a name unique within it.
type AppSecretKey struct {
	AppSecretScope
	Name string
}

// AppSecret is one stored secret.
type AppSecret struct {
	AppSecretKey
	// ID is the public identifier (appsecret_…), new on every replace.
	ID string
	// Payload is the plaintext value; it is empty when a call was asked
	// not to decrypt it.
	Payload []byte
	Created time.Time
	// ExpiresAt is when the secret stops existing; zero means never.
	ExpiresAt time.Time
}

// AppSecretStore is the Secret Store's persistence. Both SQLite and
// Postgres implement it. Every call takes now, the time against which
// expiry is judged: an expired secret is never returned or counted, and
// calls that meet one delete it.
type AppSecretStore interface {
	// PutAppSecret creates or replaces s (by its key). A new name in a
	// scope that already holds limit live secrets fails with ErrLimit; the
	// count and the insert are one transaction.
	PutAppSecret(ctx context.Context, s AppSecret, limit int, now time.Time) (created bool, err error)
	// FindAppSecret returns the live secret with key, payload included.
	FindAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error)
	// ListAppSecrets returns the scope's live secrets, newest first;
	// payloads only when withPayload.
	ListAppSecrets(ctx context.Context, scope AppSecretScope, withPayload bool, now time.Time) ([]AppSecret, error)
	// DeleteAppSecret deletes the live secret with key and returns it as
	// it was, payload included.
	DeleteAppSecret(ctx context.Context, key AppSecretKey, now time.Time) (AppSecret, error)
	// CountAppSecrets counts the scope's live secrets.
	CountAppSecrets(ctx context.Context, scope AppSecretScope, now time.Time) (int, error)
}

var (
	_ AppSecretStore = (*SQLite)(nil)
	_ AppSecretStore = (*Postgres)(nil)
)

// ValidateAppSecretScope reports whether scope is complete and well formed.
func ValidateAppSecretScope(s AppSecretScope) error {
	if err := validIDPart("app", s.App); err != nil {
		return err
	}
	if err := validIDPart("account", s.Account); err != nil {
		return err
	}
	switch s.Type {
	case ScopeAccount:
		if s.User != "" {
			return fmt.Errorf("%w app secret scope: an account scope names no user", ErrInvalid)
		}
	case ScopeUser:
		if err := validIDPart("user", s.User); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w app secret scope type %q: use %s or %s", ErrInvalid, s.Type, ScopeAccount, ScopeUser)
	}
	return nil
}

// ValidateAppSecretName reports whether name can name an app secret: 1 to
// 5000 characters of printable UTF-8.
func ValidateAppSecretName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w app secret name: it is empty", ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w app secret name: it is not valid UTF-8", ErrInvalid)
	case utf8.RuneCountInString(name) > MaxAppSecretName:
		return fmt.Errorf("%w app secret name: it is %d characters long; use at most %d", ErrInvalid, utf8.RuneCountInString(name), MaxAppSecretName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w app secret name: it contains a control character", ErrInvalid)
	}
	return nil
}

func validateAppSecretKey(k AppSecretKey) error {
	if err := ValidateAppSecretScope(k.AppSecretScope); err != nil {
		return err
	}
	return ValidateAppSecretName(k.Name)
}

// validateAppSecret never puts the payload in its error.
func validateAppSecret(s AppSecret, limit int) error {
	if err := validateAppSecretKey(s.AppSecretKey); err != nil {
		return err
	}
	switch {
	case s.ID == "":
		return fmt.Errorf("%w app secret %q: it has no id", ErrInvalid, s.Name)
	case len(s.Payload) == 0:
		return fmt.Errorf("%w app secret %q: the payload is empty", ErrInvalid, s.Name)
	case !utf8.Valid(s.Payload):
		return fmt.Errorf("%w app secret %q: the payload is not valid UTF-8", ErrInvalid, s.Name)
	case utf8.RuneCount(s.Payload) > MaxAppSecretPayload:
		return fmt.Errorf("%w app secret %q: the payload is %d characters; the limit is %d", ErrInvalid, s.Name, utf8.RuneCount(s.Payload), MaxAppSecretPayload)
	case s.Created.IsZero():
		return fmt.Errorf("%w app secret %q: it has no creation time", ErrInvalid, s.Name)
	case limit < 1:
		return fmt.Errorf("%w app secret %q: the scope limit %d is below 1", ErrInvalid, s.Name, limit)
	}
	return nil
}

func validIDPart(what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w app secret scope: the %s is empty", ErrInvalid, what)
	case len(v) > MaxAppSecretIDPart:
		return fmt.Errorf("%w app secret scope: the %s is %d bytes; the limit is %d", ErrInvalid, what, len(v), MaxAppSecretIDPart)
	case !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return fmt.Errorf("%w app secret scope: the %s contains whitespace, a control character or invalid UTF-8", ErrInvalid, what)
	}
	return nil
}

// sealName is the secretbox name (its additional authenticated data) of an
// app secret: the whole key, length-prefixed so no two keys share it, under
// a prefix no admin secret name can have. A sealed payload copied to
// another app, account, scope or name fails to open.
func (k AppSecretKey) sealName() string {
	var b strings.Builder
	b.WriteString("apps.secret")
	for _, part := range []string{k.App, k.Account, k.Type, k.User, k.Name} {
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(len(part)))
		b.WriteByte(':')
		b.WriteString(part)
	}
	return b.String()
}

// String names the key for errors: never a payload.
func (k AppSecretKey) String() string {
	scope := k.Type
	if k.Type == ScopeUser {
		scope += " " + k.User
	}
	return fmt.Sprintf("app secret %q (app %s, account %s, %s scope)", k.Name, k.App, k.Account, scope)
}

func appSecretNotFound(k AppSecretKey) error {
	return fmt.Errorf("%s: %w", k, ErrNotFound)
}

// expired reports whether sec has an expiry at or before now.
func expired(sec AppSecret, now time.Time) bool {
	return !sec.ExpiresAt.IsZero() && !sec.ExpiresAt.After(now)
}

// rows is what pgx.Rows and *sql.Rows have in common.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// collectAppSecrets reads the rows of a list query (the name, then what
// scan reads) in one scope, leaves out expired secrets (and reports that it
// saw some, for the caller to delete) and opens the payloads when asked.
func collectAppSecrets(rs rows, scan func(func(dest ...any) error, AppSecretKey) (AppSecret, []byte, error), box sealer, scope AppSecretScope, withPayload bool, now time.Time) ([]AppSecret, bool, error) {
	var out []AppSecret
	sawExpired := false
	for rs.Next() {
		var name string
		sec, sealed, err := scan(func(dest ...any) error {
			return rs.Scan(append([]any{&name}, dest...)...)
		}, AppSecretKey{AppSecretScope: scope})
		if err != nil {
			return nil, false, fmt.Errorf("list app secrets: %w", err)
		}
		sec.Name = name
		if expired(sec, now) {
			sawExpired = true
			continue
		}
		if withPayload {
			if sec.Payload, err = box.Open(sec.sealName(), sealed); err != nil {
				return nil, false, err
			}
		}
		out = append(out, sec)
	}
	if err := rs.Err(); err != nil {
		return nil, false, fmt.Errorf("list app secrets: %w", err)
	}
	return out, sawExpired, nil
}
