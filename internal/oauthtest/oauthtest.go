// Package oauthtest runs a real OAuth 2.0 authorization server on loopback
// for tests: github.com/go-oauth2/oauth2/v4's server, manager and in-memory
// token store, not an imitation of the protocol. Both internal/oauth's unit
// tests and the end-to-end tests (test/e2e) use it.
//
// What it serves, under Server.URL:
//
//	GET  /authorize   the authorization code grant's authorization endpoint
//	                  (PKCE S256 or plain when a challenge is sent, required
//	                  with Options.ForcePKCE, enforced by the library). The
//	                  user is logged in and approves at once: it answers 302
//	                  to the client's redirect_uri with code and state.
//	POST /token       authorization_code and refresh_token grants (refresh
//	                  tokens rotate: the old access and refresh tokens are
//	                  removed).
//	ANY  /api/…       a protected API: a valid bearer token gets 200 with
//	                  {"user","path","body"}; anything else 401.
//
// Clients are registered with Options.Clients; a client with an empty
// Secret is public (RFC 6749 2.1) and must use PKCE to be of any use. A
// client's RedirectBase is its registered domain: the library accepts a
// redirect_uri whose host ends with that URL's host (SetRedirectBase
// changes it once the client's port is known).
//
// The test knobs (SetDown, SetRefreshDelay, RevokeAll, counters, what was
// last seen) are for failure and concurrency tests. Nothing here is meant
// for production.
package oauthtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	ostore "github.com/go-oauth2/oauth2/v4/store"
)

// Defaults of Options.
const (
	DefaultClientID     = "atlasclient"
	DefaultClientSecret = "atlasclientsecret"
	DefaultUser         = "provider-user-42"
)

// ClientAuth is how the token endpoint reads the client's credentials.
type ClientAuth int

const (
	// AuthBasic: HTTP Basic only (client_secret_basic), the library's
	// default.
	AuthBasic ClientAuth = iota
	// AuthPost: client_id and client_secret in the form only
	// (client_secret_post).
	AuthPost
	// AuthAny: Basic when the request has it, else the form (what most
	// providers accept; needed for a public client, which sends only its
	// client_id in the form).
	AuthAny
)

// Client is one registered client.
type Client struct {
	ID string
	// Secret is the client secret; empty registers a public client.
	Secret string
	// RedirectBase is the client's registered domain, e.g.
	// http://127.0.0.1:8082. Empty until SetRedirectBase: every
	// redirect_uri is then refused.
	RedirectBase string
}

// Options configure a Server. The zero value serves one confidential
// client (DefaultClientID, DefaultClientSecret) with one-hour access
// tokens.
type Options struct {
	// Addr is where to listen; default 127.0.0.1:0 (any free port).
	Addr string
	// Clients are the registered clients; default one with
	// DefaultClientID and DefaultClientSecret.
	Clients []Client
	// AccessTokenTTL is the access tokens' lifetime (also of refreshed
	// ones); default one hour.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the refresh tokens' lifetime; default one day.
	RefreshTokenTTL time.Duration
	// ForcePKCE makes the authorization server require a code challenge
	// at /authorize and the verifier at /token.
	ForcePKCE bool
	// ClientAuth is how /token authenticates clients; default AuthBasic.
	ClientAuth ClientAuth
	// HideExpiry leaves expires_in out of token responses, like providers
	// that do not say when tokens expire.
	HideExpiry bool
	// User is the provider's user who approves every login; default
	// DefaultUser.
	User string
	// Logf, when set, gets the library's internal errors.
	Logf func(format string, args ...any)
}

// APIRequest is what the protected API saw of a request.
type APIRequest struct {
	Method, Path, RawPath, Query, Body string
	Header                             http.Header
}

// Token is a token response the server sent.
type Token struct {
	AccessToken, RefreshToken string
}

// Server is a running authorization server and its protected API.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Manager is the library's token manager, for tests that revoke or
	// reconfigure (e.g. Manager.SetRefreshTokenCfg).
	Manager *manage.Manager
	// OAuth is the library's server.
	OAuth *server.Server

	// RefreshCalls, CodeCalls and APICalls count refresh_token grants,
	// authorization_code grants and protected API requests received.
	RefreshCalls, CodeCalls, APICalls atomic.Int64

	clients      *ostore.ClientStore
	srv          *http.Server
	lis          net.Listener
	down         atomic.Bool
	refreshDelay atomic.Int64
	closeOnce    sync.Once

	mu            sync.Mutex
	lastAuthorize url.Values
	lastCodeForm  url.Values
	lastAPI       APIRequest
	issued        []Token
}

// New starts a Server for t and stops it when t ends; t fails if it
// cannot start.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	s, err := Start(o)
	if err != nil {
		t.Fatalf("oauthtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server; Close stops it.
func Start(o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Clients == nil {
		o.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret}}
	}
	if o.AccessTokenTTL == 0 {
		o.AccessTokenTTL = time.Hour
	}
	if o.RefreshTokenTTL == 0 {
		o.RefreshTokenTTL = 24 * time.Hour
	}
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}

	mgr := manage.NewDefaultManager()
	mgr.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: o.AccessTokenTTL, RefreshTokenExp: o.RefreshTokenTTL, IsGenerateRefresh: true})
	mgr.SetRefreshTokenCfg(&manage.RefreshingConfig{AccessTokenExp: o.AccessTokenTTL, RefreshTokenExp: o.RefreshTokenTTL,
		IsGenerateRefresh: true, IsRemoveAccess: true, IsRemoveRefreshing: true})
	mgr.MustTokenStorage(ostore.NewMemoryTokenStore())
	clients := ostore.NewClientStore()
	for _, c := range o.Clients {
		if c.ID == "" {
			return nil, errors.New("a client has no ID")
		}
		if err := clients.Set(c.ID, &models.Client{ID: c.ID, Secret: c.Secret, Domain: c.RedirectBase, Public: c.Secret == ""}); err != nil {
			return nil, err
		}
	}
	mgr.MapClientStorage(clients)

	srv := server.NewServer(server.NewConfig(), mgr)
	srv.Config.ForcePKCE = o.ForcePKCE
	srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing)
	srv.SetAllowedResponseType(oauth2.Code)
	switch o.ClientAuth {
	case AuthPost:
		srv.SetClientInfoHandler(server.ClientFormHandler)
	case AuthAny:
		srv.SetClientInfoHandler(func(r *http.Request) (string, string, error) {
			if _, _, ok := r.BasicAuth(); ok {
				return server.ClientBasicHandler(r)
			}
			return server.ClientFormHandler(r)
		})
	}
	// The user is logged in at the provider and approves at once.
	user := o.User
	srv.SetUserAuthorizationHandler(func(http.ResponseWriter, *http.Request) (string, error) { return user, nil })
	s := &Server{Manager: mgr, OAuth: srv, clients: clients}
	srv.SetResponseTokenHandler(func(w http.ResponseWriter, data map[string]any, header http.Header, status ...int) error {
		if o.HideExpiry {
			delete(data, "expires_in")
		}
		if at, _ := data["access_token"].(string); at != "" {
			rt, _ := data["refresh_token"].(string)
			s.mu.Lock()
			s.issued = append(s.issued, Token{AccessToken: at, RefreshToken: rt})
			s.mu.Unlock()
		}
		// As the library's default handler does.
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		for k := range header {
			w.Header().Set(k, header.Get(k))
		}
		code := http.StatusOK
		if len(status) > 0 && status[0] > 0 {
			code = status[0]
		}
		w.WriteHeader(code)
		return json.NewEncoder(w).Encode(data)
	})
	logf := o.Logf
	srv.SetInternalErrorHandler(func(err error) *oerrors.Response {
		logf("oauthtest: internal error: %v", err)
		return nil
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", s.authorize)
	mux.HandleFunc("/token", s.token)
	mux.HandleFunc("/api/", s.api)
	lis, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", o.Addr, err)
	}
	s.lis = lis
	s.URL = "http://" + lis.Addr().String()
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// AuthorizeURL, TokenURL and APIBaseURL are the endpoints' URLs.
func (s *Server) AuthorizeURL() string { return s.URL + "/authorize" }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// APIBaseURL is the protected API's base.
func (s *Server) APIBaseURL() string { return s.URL + "/api" }

// Close stops the server at once (connections are closed): the token
// endpoint is then unreachable, as a provider that is down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { _ = s.srv.Close() })
}

// SetRedirectBase registers base (e.g. http://127.0.0.1:PORT) as client
// id's domain.
func (s *Server) SetRedirectBase(id, base string) error {
	c, err := s.clients.GetByID(context.Background(), id)
	if err != nil {
		return err
	}
	return s.clients.Set(id, &models.Client{ID: id, Secret: c.GetSecret(), Domain: base, Public: c.IsPublic()})
}

// SetDown makes the token endpoint answer 503 (true) or work again.
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// SetRefreshDelay makes each refresh_token grant take d before it is
// answered, so concurrent callers overlap it.
func (s *Server) SetRefreshDelay(d time.Duration) { s.refreshDelay.Store(int64(d)) }

// Issued returns every token response sent so far, oldest first.
func (s *Server) Issued() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Token(nil), s.issued...)
}

// RevokeAll revokes every access and refresh token issued so far, as a
// user who revokes the app at the provider: the API then answers 401 and
// a refresh is invalid_grant.
func (s *Server) RevokeAll(ctx context.Context) error {
	var errs []error
	for _, t := range s.Issued() {
		// A token already rotated away is gone: removing it is a no-op.
		errs = append(errs, s.Manager.RemoveAccessToken(ctx, t.AccessToken))
		if t.RefreshToken != "" {
			errs = append(errs, s.Manager.RemoveRefreshToken(ctx, t.RefreshToken))
		}
	}
	return errors.Join(errs...)
}

// LastAuthorize is the query of the last /authorize request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthorize
}

// LastCodeForm is the form of the last authorization_code grant.
func (s *Server) LastCodeForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCodeForm
}

// LastAPI is what the protected API saw of the last authorized request.
func (s *Server) LastAPI() APIRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAPI
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lastAuthorize = r.URL.Query()
	s.mu.Unlock()
	if err := s.OAuth.HandleAuthorizeRequest(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		s.RefreshCalls.Add(1)
		time.Sleep(time.Duration(s.refreshDelay.Load()))
	case "authorization_code":
		s.CodeCalls.Add(1)
		s.mu.Lock()
		s.lastCodeForm = r.PostForm
		s.mu.Unlock()
	}
	_ = s.OAuth.HandleTokenRequest(w, r)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	s.APICalls.Add(1)
	ti, err := s.OAuth.ValidationBearerToken(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.lastAPI = APIRequest{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone()}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Set-Cookie", "provider_session=1")
	w.Header().Set("X-Api-Version", "7")
	_ = json.NewEncoder(w).Encode(map[string]string{"user": ti.GetUserID(), "path": r.URL.Path, "body": string(body)})
}
