package oauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const redirect = "http://127.0.0.1:9/cb"

var noFollow = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// code runs /authorize and returns the code the redirect carries.
func code(t *testing.T, s *Server, q url.Values) string {
	t.Helper()
	resp, err := noFollow.Get(s.AuthorizeURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect+"?") {
		t.Fatalf("authorize redirects to %q", resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != q.Get("state") {
		t.Errorf("state = %q, want %q", loc.Query().Get("state"), q.Get("state"))
	}
	return loc.Query().Get("code")
}

// tokenCall posts form to /token, with Basic credentials when user != "".
func tokenCall(t *testing.T, s *Server, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func apiCall(t *testing.T, s *Server, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.APIBaseURL()+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCodeGrantRefreshAndRevoke(t *testing.T) {
	s := New(t, Options{Clients: []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, RedirectBase: "http://127.0.0.1:9"}}})
	c := code(t, s, url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {redirect}, "state": {"s1"}, "scope": {"read"}})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirect}}
	if st, v := tokenCall(t, s, form, DefaultClientID, "wrong"); st == http.StatusOK {
		t.Fatalf("a wrong client secret got tokens: %v", v)
	}
	c = code(t, s, url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {redirect}, "state": {"s2"}})
	form.Set("code", c)
	st, tok := tokenCall(t, s, form, DefaultClientID, DefaultClientSecret)
	if st != http.StatusOK || tok["access_token"] == nil || tok["refresh_token"] == nil || tok["expires_in"] == nil {
		t.Fatalf("code exchange = %d %v", st, tok)
	}
	if st, body := apiCall(t, s, tok["access_token"].(string)); st != http.StatusOK || !strings.Contains(body, DefaultUser) {
		t.Fatalf("API = %d %s", st, body)
	}
	if s.LastAPI().Path != "/api/user" || s.CodeCalls.Load() != 2 || s.APICalls.Load() != 1 {
		t.Errorf("seen %+v, %d code calls, %d API calls", s.LastAPI(), s.CodeCalls.Load(), s.APICalls.Load())
	}

	// Refresh rotates both tokens.
	st, next := tokenCall(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, DefaultClientID, DefaultClientSecret)
	if st != http.StatusOK || next["access_token"] == tok["access_token"] {
		t.Fatalf("refresh = %d %v", st, next)
	}
	if st, _ := apiCall(t, s, tok["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("the rotated-away access token still works: %d", st)
	}
	if n := len(s.Issued()); n != 2 {
		t.Errorf("Issued() has %d tokens, want 2", n)
	}

	// RevokeAll: the API refuses, and the refresh is invalid_grant.
	if err := s.RevokeAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ := apiCall(t, s, next["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("API after RevokeAll = %d", st)
	}
	st, v := tokenCall(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}}, DefaultClientID, DefaultClientSecret)
	if st == http.StatusOK || v["error"] != "invalid_grant" {
		t.Errorf("refresh after RevokeAll = %d %v", st, v)
	}

	// Down, then closed.
	s.SetDown(true)
	if st, _ := tokenCall(t, s, form, DefaultClientID, DefaultClientSecret); st != http.StatusServiceUnavailable {
		t.Errorf("token endpoint down = %d", st)
	}
	s.Close()
	if _, err := http.Get(s.TokenURL()); err == nil {
		t.Error("the server still answers after Close")
	}
}

// A public client, PKCE forced, credentials in the form, expiry hidden.
func TestPublicClientPKCE(t *testing.T) {
	s := New(t, Options{Clients: []Client{{ID: "frontend"}}, ForcePKCE: true, ClientAuth: AuthAny, HideExpiry: true, AccessTokenTTL: time.Minute})
	q := url.Values{"response_type": {"code"}, "client_id": {"frontend"}, "redirect_uri": {redirect}, "state": {"s1"}}
	resp, err := noFollow.Get(s.AuthorizeURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), redirect) {
		t.Fatal("a redirect_uri outside the client's (empty) domain was accepted")
	}
	if err := s.SetRedirectBase("frontend", "http://127.0.0.1:9"); err != nil {
		t.Fatal(err)
	}
	resp, err = noFollow.Get(s.AuthorizeURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
		t.Fatalf("authorize without a challenge gave a code: %s", loc)
	}

	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	c := code(t, s, q)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirect}, "client_id": {"frontend"}, "code_verifier": {"w" + verifier[1:]}}
	if st, v := tokenCall(t, s, form, "", ""); st == http.StatusOK {
		t.Fatalf("a wrong verifier got tokens: %v", v)
	}
	c = code(t, s, q)
	form.Set("code", c)
	form.Set("code_verifier", verifier)
	st, tok := tokenCall(t, s, form, "", "")
	if st != http.StatusOK || tok["access_token"] == nil {
		t.Fatalf("PKCE exchange = %d %v", st, tok)
	}
	if _, ok := tok["expires_in"]; ok {
		t.Errorf("expires_in sent with HideExpiry: %v", tok)
	}
	if s.LastAuthorize().Get("code_challenge_method") != "S256" || s.LastCodeForm().Get("code_verifier") != verifier {
		t.Error("LastAuthorize/LastCodeForm do not show the last requests")
	}
}

func TestAccessTokenExpires(t *testing.T) {
	s := New(t, Options{Clients: []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, RedirectBase: "http://127.0.0.1:9"}}, AccessTokenTTL: time.Second})
	c := code(t, s, url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {redirect}, "state": {"s"}})
	st, tok := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirect}}, DefaultClientID, DefaultClientSecret)
	if st != http.StatusOK {
		t.Fatalf("exchange = %d %v", st, tok)
	}
	if tok["expires_in"] != float64(1) {
		t.Errorf("expires_in = %v, want 1", tok["expires_in"])
	}
	time.Sleep(1100 * time.Millisecond)
	if st, _ := apiCall(t, s, tok["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("API with an expired token = %d", st)
	}
}
