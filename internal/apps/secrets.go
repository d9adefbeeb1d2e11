package apps

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/atlas-gateway/atlas/internal/store"
)

// MaxSecretsPerScope is Stripe's limit: an account scope, and each user
// scope, holds at most 10 secrets.
const MaxSecretsPerScope = 10

// maxExpiresAt is the last second of year 9999: a larger expires_at is a
// typo (milliseconds?), not a date.
const maxExpiresAt = 253402300799

// List page sizes, as Stripe's.
const (
	defaultListLimit = 10
	maxListLimit     = 100
)

// secretObject is Stripe's apps.secret object.
type secretObject struct {
	ID        string      `json:"id"`
	Object    string      `json:"object"`
	Created   int64       `json:"created"`
	Deleted   bool        `json:"deleted,omitempty"`
	ExpiresAt *int64      `json:"expires_at"`
	Livemode  bool        `json:"livemode"`
	Name      string      `json:"name"`
	Payload   *string     `json:"payload,omitempty"`
	Scope     scopeObject `json:"scope"`
}

type scopeObject struct {
	Type string `json:"type"`
	User string `json:"user,omitempty"`
}

type listObject struct {
	Object  string         `json:"object"`
	Data    []secretObject `json:"data"`
	HasMore bool           `json:"has_more"`
	URL     string         `json:"url"`
}

func toObject(sec store.AppSecret, withPayload bool) secretObject {
	o := secretObject{
		ID:      sec.ID,
		Object:  "apps.secret",
		Created: sec.Created.Unix(),
		Name:    sec.Name,
		Scope:   scopeObject{Type: sec.Type, User: sec.User},
	}
	if !sec.ExpiresAt.IsZero() {
		e := sec.ExpiresAt.Unix()
		o.ExpiresAt = &e
	}
	if withPayload {
		p := string(sec.Payload)
		o.Payload = &p
	}
	return o
}

// request reads, authenticates and parses one Secret Store request.
func (s *Server) request(w http.ResponseWriter, r *http.Request, allowed ...string) (Caller, params, bool) {
	var body []byte
	if r.Method == http.MethodPost {
		var apiErr *APIError
		if body, apiErr = s.ReadBody(r); apiErr != nil {
			WriteError(w, apiErr)
			return Caller{}, nil, false
		}
	}
	c, apiErr := s.Authenticate(r, body)
	if apiErr != nil {
		WriteError(w, apiErr)
		return Caller{}, nil, false
	}
	p, apiErr := parseParams(r, body, allowed...)
	if apiErr != nil {
		WriteError(w, apiErr)
		return Caller{}, nil, false
	}
	return c, p, true
}

func (s *Server) secretsRoot(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.create(w, r)
	case http.MethodGet:
		s.list(w, r)
	default:
		WriteError(w, unrecognizedURL(r))
	}
}

// create is POST /v1/apps/secrets: create or replace a secret.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.request(w, r, "name", "payload", "scope[type]", "scope[user]", "expires_at", "expand[]")
	if !ok {
		return
	}
	now := s.now()
	withPayload, apiErr := p.expands("payload")
	if apiErr == nil {
		apiErr = required(p, "name", "payload")
	}
	var scope store.AppSecretScope
	if apiErr == nil {
		scope, apiErr = resolveScope(c, p)
	}
	var expires time.Time
	if apiErr == nil {
		expires, apiErr = expiresAt(p, now)
	}
	if apiErr == nil {
		apiErr = checkLengths(p)
	}
	if apiErr != nil {
		WriteError(w, apiErr)
		return
	}
	sec := store.AppSecret{
		AppSecretKey: store.AppSecretKey{AppSecretScope: scope, Name: p.get("name")},
		ID:           newID("appsecret_", 24),
		Payload:      []byte(p.get("payload")),
		Created:      now.UTC().Truncate(time.Second),
		ExpiresAt:    expires,
	}
	_, err := s.secrets.PutAppSecret(r.Context(), sec, MaxSecretsPerScope, now)
	switch {
	case errors.Is(err, store.ErrLimit):
		WriteError(w, badRequest(CodeSecretLimit, "name", fmt.Sprintf(
			"The %s already holds %d secrets, the most a scope may hold. Delete one (POST /v1/apps/secrets/delete), or replace an existing name.", scopeWords(scope), MaxSecretsPerScope)))
	case errors.Is(err, store.ErrInvalid):
		WriteError(w, badRequest(CodeParameterInvalid, "", err.Error()))
	case err != nil:
		WriteError(w, internalError(s.Logger(r), "store the secret", err))
	default:
		writeJSON(w, http.StatusOK, toObject(sec, withPayload))
	}
}

// find is GET /v1/apps/secrets/find.
func (s *Server) find(w http.ResponseWriter, r *http.Request) {
	s.findOrDelete(w, r, false)
}

// delete is POST /v1/apps/secrets/delete.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.findOrDelete(w, r, true)
}

func (s *Server) findOrDelete(w http.ResponseWriter, r *http.Request, del bool) {
	c, p, ok := s.request(w, r, "name", "scope[type]", "scope[user]", "expand[]")
	if !ok {
		return
	}
	withPayload, apiErr := p.expands("payload")
	if apiErr == nil {
		apiErr = required(p, "name")
	}
	var scope store.AppSecretScope
	if apiErr == nil {
		scope, apiErr = resolveScope(c, p)
	}
	if apiErr == nil {
		apiErr = checkLengths(p)
	}
	if apiErr != nil {
		WriteError(w, apiErr)
		return
	}
	key := store.AppSecretKey{AppSecretScope: scope, Name: p.get("name")}
	var sec store.AppSecret
	var err error
	if del {
		sec, err = s.secrets.DeleteAppSecret(r.Context(), key, s.now())
	} else {
		sec, err = s.secrets.FindAppSecret(r.Context(), key, s.now())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, &APIError{Status: http.StatusNotFound, Code: CodeResourceMissing, Param: "name", Message: fmt.Sprintf(
			"No such secret: %s in the %s.", printable(key.Name), scopeWords(scope))})
	case errors.Is(err, store.ErrInvalid):
		WriteError(w, badRequest(CodeParameterInvalid, "", err.Error()))
	case err != nil:
		WriteError(w, internalError(s.Logger(r), "read the secret", err))
	default:
		o := toObject(sec, withPayload)
		o.Deleted = del
		writeJSON(w, http.StatusOK, o)
	}
}

// list is GET /v1/apps/secrets: a scope's secrets, newest first.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.request(w, r, "scope[type]", "scope[user]", "limit", "starting_after", "ending_before", "expand[]")
	if !ok {
		return
	}
	// Stripe expands list items as data.payload; payload is accepted too.
	withPayload, apiErr := p.expands("data.payload", "payload")
	var scope store.AppSecretScope
	if apiErr == nil {
		scope, apiErr = resolveScope(c, p)
	}
	limit := defaultListLimit
	if apiErr == nil && p.has("limit") {
		n, err := strconv.Atoi(p.get("limit"))
		if err != nil || n < 1 || n > maxListLimit {
			apiErr = badRequest(CodeParameterInteger, "limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", maxListLimit))
		}
		limit = n
	}
	if apiErr == nil && p.get("starting_after") != "" && p.get("ending_before") != "" {
		apiErr = badRequest(CodeParameterInvalid, "ending_before", "Send starting_after or ending_before, not both.")
	}
	if apiErr != nil {
		WriteError(w, apiErr)
		return
	}
	all, err := s.secrets.ListAppSecrets(r.Context(), scope, withPayload, s.now())
	if err != nil {
		WriteError(w, internalError(s.Logger(r), "list the secrets", err))
		return
	}
	page, hasMore, apiErr := paginate(all, limit, p.get("starting_after"), p.get("ending_before"))
	if apiErr != nil {
		WriteError(w, apiErr)
		return
	}
	out := listObject{Object: "list", Data: make([]secretObject, 0, len(page)), HasMore: hasMore, URL: "/v1/apps/secrets"}
	for _, sec := range page {
		out.Data = append(out.Data, toObject(sec, withPayload))
	}
	writeJSON(w, http.StatusOK, out)
}

// paginate cuts one page from all (newest first) the way Stripe's cursors
// do: starting_after gives the items after that id, ending_before the
// items just before it.
func paginate(all []store.AppSecret, limit int, after, before string) ([]store.AppSecret, bool, *APIError) {
	index := func(id, param string) (int, *APIError) {
		for i, s := range all {
			if s.ID == id {
				return i, nil
			}
		}
		return 0, &APIError{Status: http.StatusBadRequest, Code: CodeResourceMissing, Param: param, Message: fmt.Sprintf(
			"No such secret: %s in this scope; %s must be the id of a secret in the list.", printable(id), param)}
	}
	switch {
	case after != "":
		i, apiErr := index(after, "starting_after")
		if apiErr != nil {
			return nil, false, apiErr
		}
		rest := all[i+1:]
		if len(rest) > limit {
			return rest[:limit], true, nil
		}
		return rest, false, nil
	case before != "":
		i, apiErr := index(before, "ending_before")
		if apiErr != nil {
			return nil, false, apiErr
		}
		head := all[:i]
		if len(head) > limit {
			return head[len(head)-limit:], true, nil
		}
		return head, false, nil
	}
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// resolveScope turns scope[type] and scope[user] into the store scope the
// caller may reach: a frontend only its own account and its own user; a
// backend its Stripe-Account and any of that account's users.
func resolveScope(c Caller, p params) (store.AppSecretScope, *APIError) {
	typ, user := p.get("scope[type]"), p.get("scope[user]")
	scope := store.AppSecretScope{App: c.App, Account: c.Account, Type: typ}
	switch typ {
	case "":
		return scope, badRequest(CodeParameterMissing, "scope[type]", "Missing required param: scope[type]; use account (shared by the account's users and the app's backend) or user (one Dashboard user and the app's backend).")
	case store.ScopeAccount:
		if p.has("scope[user]") {
			return scope, badRequest(CodeParameterInvalid, "scope[user]", "scope[user] must not be sent when scope[type] is account.")
		}
	case store.ScopeUser:
		switch {
		case user == "" && c.Backend:
			return scope, badRequest(CodeParameterMissing, "scope[user]", "Missing required param: scope[user]. The app's backend names the user (usr_…) whose scope it means.")
		case user == "":
			user = c.User
		case !c.Backend && user != c.User:
			return scope, &APIError{Status: http.StatusForbidden, Code: CodeScopeForbidden, Param: "scope[user]", Message: "The app's frontend can reach only its own user's scope; scope[user] must be the signed user_id, or be left out."}
		}
		scope.User = user
	default:
		return scope, badRequest(CodeParameterInvalid, "scope[type]", fmt.Sprintf("Invalid scope[type] %s: use account or user.", printable(typ)))
	}
	if err := store.ValidateAppSecretScope(scope); err != nil {
		return scope, badRequest(CodeParameterInvalid, "scope[user]", "Invalid scope: "+err.Error())
	}
	return scope, nil
}

func required(p params, names ...string) *APIError {
	for _, n := range names {
		if p.get(n) == "" {
			return badRequest(CodeParameterMissing, n, "Missing required param: "+n+".")
		}
	}
	return nil
}

// checkLengths applies Stripe's 5000-character limits to name and payload,
// and refuses what the store would, with the parameter named.
func checkLengths(p params) *APIError {
	for _, f := range []struct {
		param string
		max   int
	}{{"name", store.MaxAppSecretName}, {"payload", store.MaxAppSecretPayload}} {
		v := p.get(f.param)
		switch {
		case !utf8.ValidString(v):
			return badRequest(CodeParameterInvalid, f.param, f.param+" is not valid UTF-8.")
		case utf8.RuneCountInString(v) > f.max:
			return badRequest(CodeParameterInvalid, f.param, fmt.Sprintf("%s is %d characters long; the limit is %d.", f.param, utf8.RuneCountInString(v), f.max))
		}
	}
	if err := store.ValidateAppSecretName(p.get("name")); err != nil && p.has("name") {
		return badRequest(CodeParameterInvalid, "name", "Invalid name: "+err.Error())
	}
	return nil
}

// expiresAt reads expires_at: Unix seconds in the future, or absent.
func expiresAt(p params, now time.Time) (time.Time, *APIError) {
	v := p.get("expires_at")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n < 0 || n > maxExpiresAt:
		return time.Time{}, badRequest(CodeParameterInteger, "expires_at", "expires_at must be a Unix timestamp in seconds, such as 1893456000.")
	case n <= now.Unix():
		return time.Time{}, badRequest(CodeParameterInvalid, "expires_at", fmt.Sprintf("expires_at %d is not in the future (now is %d); send a later Unix timestamp, or none for a secret that does not expire.", n, now.Unix()))
	}
	return time.Unix(n, 0).UTC(), nil
}

func scopeWords(s store.AppSecretScope) string {
	if s.Type == store.ScopeUser {
		return fmt.Sprintf("user scope of %s", s.User)
	}
	return "account scope"
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix and n random base62 characters, like Stripe's ids.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}
