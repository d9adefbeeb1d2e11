package oauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/atlas-gateway/atlas/internal/store"
)

// proxy forwards a signed request to p's API as the signer, with their
// access token in place of the Stripe signature.
func (b *Broker) proxy(w http.ResponseWriter, r *http.Request, p *provider, tail string, log *slog.Logger) {
	target, e := p.target(tail, r.URL.RawQuery)
	if e != nil {
		writeError(w, e)
		return
	}
	c, body, ok := b.authenticate(w, r, p, log)
	if !ok {
		return
	}
	ctx := r.Context()
	key := p.tokenKey(c)
	tok, err := b.o.Store.GetOAuthTokens(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, loginRequired(p, "this user has not logged in to "+p.Name))
		return
	}
	if err != nil {
		log.Error("OAuth proxy: read the tokens", "error", err)
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "Atlas could not read this user's tokens; retry shortly"))
		return
	}
	refreshed := false
	if b.expiresSoon(tok) && tok.RefreshToken != "" {
		fresh, e := b.refresh(ctx, p, key, tok.AccessToken, log)
		switch {
		case e == nil:
			tok, refreshed = fresh, true
		case e.Code == CodeProviderUnavailable && !b.expired(tok):
			// The token still works for a few seconds: use it.
			log.Warn("OAuth proxy: refresh failed; using the current token until it expires", "error", e.Message)
		default:
			writeError(w, e)
			return
		}
	}
	resp, err := b.forward(ctx, r, target, body, tok.AccessToken)
	if err != nil {
		writeError(w, upstreamUnavailable(p, err))
		return
	}
	if resp.StatusCode == http.StatusUnauthorized && !refreshed {
		discard(resp)
		if tok.RefreshToken == "" {
			writeError(w, loginRequired(p, p.Name+" rejected the access token and gave no refresh token"))
			return
		}
		fresh, e := b.refresh(ctx, p, key, tok.AccessToken, log)
		if e != nil {
			writeError(w, e)
			return
		}
		if resp, err = b.forward(ctx, r, target, body, fresh.AccessToken); err != nil {
			writeError(w, upstreamUnavailable(p, err))
			return
		}
	}
	defer resp.Body.Close()
	copyResponse(w, resp, log)
}

func loginRequired(p *provider, why string) *Error {
	return errorf(http.StatusUnauthorized, CodeLoginRequired, "%s: log in first. Open %s in a window (NONCE: 16 to 128 random URL-safe characters) and poll GET %s/%s/status?state=NONCE, signed, until it says authenticated", why, p.loginPath(), strings.TrimSuffix(oauthPrefix, "/"), p.Name)
}

func upstreamUnavailable(p *provider, err error) *Error {
	return errorf(http.StatusBadGateway, CodeUpstreamUnavailable, "Atlas could not reach the %s API (%s): %s", p.Name, withoutQuery(p.APIBaseURL), transportError(err))
}

func (b *Broker) expiresSoon(t store.OAuthTokens) bool {
	return !t.Expiry.IsZero() && !b.o.Now().Add(RefreshSkew).Before(t.Expiry)
}

func (b *Broker) expired(t store.OAuthTokens) bool {
	return !t.Expiry.IsZero() && !b.o.Now().Before(t.Expiry)
}

// target is the upstream URL for the path after /v1/apis/oauth/NAME/,
// kept escaped as the client sent it. Dot segments are refused: they
// would climb out of apiBaseUrl's path.
func (p *provider) target(tail, rawQuery string) (*url.URL, *Error) {
	for _, seg := range strings.Split(tail, "/") {
		if dec, err := url.PathUnescape(seg); err != nil || dec == "." || dec == ".." || strings.ContainsAny(dec, "/\\") {
			return nil, errorf(http.StatusBadRequest, CodeInvalidPath, "the path after /v1/apis/oauth/%s/ must not contain . or .. segments, encoded slashes or invalid escapes", p.Name)
		}
	}
	u := *p.apiBase
	raw := strings.TrimSuffix(u.EscapedPath(), "/") + "/" + tail
	dec, _ := url.PathUnescape(raw) // each segment unescaped above
	u.Path, u.RawPath, u.RawQuery = dec, raw, rawQuery
	return &u, nil
}

// dropHeaders never reach the API: the Stripe identity (replaced by the
// token), Atlas's and Envoy's own, the client's credentials and cookies
// for Atlas's origin, the browser's Origin/Referer (a server-to-server call
// is not the UI extension's cross-origin request), and hop-by-hop headers.
var dropHeaders = []string{
	"Stripe-Signature", "Stripe-User", "Stripe-User-Id", "Stripe-Account-Id",
	"Authorization", "Cookie", "Host", "Forwarded", "Origin", "Referer",
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
}

var dropPrefixes = []string{"Atlas-", "X-Envoy-", "X-Forwarded-", "X-Atlas-", "Stripe-User-"}

func outboundHeader(in http.Header) http.Header {
	h := in.Clone()
	for _, name := range strings.Split(in.Get("Connection"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			h.Del(name)
		}
	}
	for _, name := range dropHeaders {
		h.Del(name)
	}
	for name := range h {
		for _, prefix := range dropPrefixes {
			if strings.HasPrefix(name, prefix) {
				delete(h, name)
			}
		}
	}
	return h
}

// forward sends the request to target with the access token.
func (b *Broker) forward(ctx context.Context, r *http.Request, target *url.URL, body []byte, access string) (*http.Response, error) {
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header = outboundHeader(r.Header)
	req.Header.Set("Authorization", "Bearer "+access)
	if _, ok := r.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = nil // Go's default must not stand in for the client's
	}
	return b.client.Do(req)
}

// discard drains (a little of) a response so its connection is reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// dropResponseHeaders stay between Atlas and the API: hop-by-hop headers
// and cookies the API would set on Atlas's origin.
var dropResponseHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Set-Cookie",
}

// copyResponse streams resp to w, flushing as data arrives (event streams
// and long downloads pass through unbuffered).
func copyResponse(w http.ResponseWriter, resp *http.Response, log *slog.Logger) {
	h := w.Header()
	for _, name := range strings.Split(resp.Header.Get("Connection"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			resp.Header.Del(name)
		}
	}
	for name, values := range resp.Header {
		h[name] = values
	}
	for _, name := range dropResponseHeaders {
		h.Del(name)
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			log.Warn("OAuth proxy: the API's response broke off", "error", err)
			panic(http.ErrAbortHandler) // tell the client the body is incomplete
		}
	}
}
