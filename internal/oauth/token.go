package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atlas-gateway/atlas/internal/store"
)

// tokenError is a failed token endpoint call: either the provider refused
// (an OAuth error such as invalid_grant) or it could not be used at all
// (unreachable, 5xx, a response that is not a token).
type tokenError struct {
	refused bool
	code    string // the provider's error, when refused
	desc    string // its description, or what went wrong
}

func (e *tokenError) Error() string {
	if e.refused {
		return "refused: " + e.reason()
	}
	return "unavailable: " + e.desc
}

// reason is the provider's error and description, for messages.
func (e *tokenError) reason() string {
	if e.desc == "" {
		return e.code
	}
	return e.code + ": " + e.desc
}

const maxTokenResponse = 1 << 20

// tokenRequest posts form to p's token endpoint with the client's
// credentials and returns the tokens it issued. Nothing secret reaches an
// error: the form and response bodies are never quoted.
func (b *Broker) tokenRequest(ctx context.Context, p *provider, form url.Values) (store.OAuthTokens, *tokenError) {
	ctx, cancel := context.WithTimeout(ctx, b.o.TokenTimeout)
	defer cancel()
	useBasic := p.ClientAuth != "post" && p.ClientSecret != ""
	if !useBasic {
		form.Set("client_id", p.ClientID)
		if p.ClientSecret != "" {
			form.Set("client_secret", p.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return store.OAuthTokens{}, &tokenError{desc: "the token URL is invalid"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if useBasic {
		// RFC 6749 section 2.3.1: form-encode, then Basic.
		req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
	}
	start := b.o.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return store.OAuthTokens{}, &tokenError{desc: transportError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return store.OAuthTokens{}, &tokenError{desc: "reading the response: " + transportError(err)}
	}
	tr, parseErr := parseTokenResponse(resp.Header.Get("Content-Type"), body)
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return store.OAuthTokens{}, &tokenError{desc: fmt.Sprintf("it answered %s", resp.Status)}
	case resp.StatusCode >= 400 || tr.Error != "":
		// Some providers (GitHub) report errors with 200.
		code := printableText(tr.Error, maxProviderErrLen)
		if code == "" {
			code = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return store.OAuthTokens{}, &tokenError{refused: true, code: code, desc: printableText(tr.ErrorDescription, maxProviderDesc)}
	case resp.StatusCode/100 != 2:
		return store.OAuthTokens{}, &tokenError{desc: fmt.Sprintf("it answered %s", resp.Status)}
	case parseErr != nil:
		return store.OAuthTokens{}, &tokenError{desc: parseErr.Error()}
	case tr.AccessToken == "":
		return store.OAuthTokens{}, &tokenError{desc: "its response has no access_token"}
	case tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer"):
		return store.OAuthTokens{}, &tokenError{desc: fmt.Sprintf("it issued a token of type %q; Atlas sends Bearer tokens only", printableText(tr.TokenType, 32))}
	}
	t := store.OAuthTokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: tr.TokenType, Scope: tr.Scope}
	if tr.ExpiresIn > 0 {
		// From when the request was sent: a slow answer errs early.
		t.Expiry = start.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t, nil
}

// tokenResponse is RFC 6749 section 5.1 and 5.2.
type tokenResponse struct {
	AccessToken      string      `json:"access_token"`
	TokenType        string      `json:"token_type"`
	RefreshToken     string      `json:"refresh_token"`
	Scope            string      `json:"scope"`
	ExpiresIn        flexSeconds `json:"expires_in"`
	Error            string      `json:"error"`
	ErrorDescription string      `json:"error_description"`
}

// flexSeconds reads expires_in as a number or a numeric string (both are
// seen in the wild).
type flexSeconds int64

func (s *flexSeconds) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if str == "" || str == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil || f < 0 || f > 1e9 {
		return fmt.Errorf("expires_in is not a number of seconds")
	}
	*s = flexSeconds(f)
	return nil
}

// parseTokenResponse reads JSON, or the form encoding some providers
// (GitHub without Accept) use.
func parseTokenResponse(contentType string, body []byte) (tokenResponse, error) {
	var tr tokenResponse
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return tr, fmt.Errorf("its response is neither JSON nor a form")
		}
		tr = tokenResponse{AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), RefreshToken: v.Get("refresh_token"),
			Scope: v.Get("scope"), Error: v.Get("error"), ErrorDescription: v.Get("error_description")}
		if e := v.Get("expires_in"); e != "" {
			if err := tr.ExpiresIn.UnmarshalJSON([]byte(e)); err != nil {
				return tr, err
			}
		}
		return tr, nil
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("its response is not a JSON token response (Content-Type %q)", printableText(contentType, 64))
	}
	return tr, nil
}

// transportError describes a failed call without its URL's query.
func transportError(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "it did not answer in time"
	}
	return err.Error()
}

// exchange trades a login's code (and PKCE verifier) for tokens.
func (b *Broker) exchange(ctx context.Context, p *provider, code, verifier string) (store.OAuthTokens, *tokenError) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {p.RedirectURL},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return b.tokenRequest(ctx, p, form)
}
