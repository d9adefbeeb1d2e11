package apps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// params are a request's parameters under Stripe's form keys: "name",
// "scope[type]", "expand[]" (expand, expand[] and expand[0] all count).
type params url.Values

// identityParams may accompany any request: a frontend that signs its JSON
// body puts user_id and account_id in it. The signature, not these, says
// who the caller is.
var identityParams = []string{"user_id", "account_id"}

var expandKey = regexp.MustCompile(`^expand(\[\d*\])?$`)

// parseParams reads the query string and, for a POST, the body: form
// encoded (what Stripe's clients send) or a JSON object (a frontend that
// signs its body). Keys not in allowed are refused, as Stripe refuses
// unknown parameters, so a misspelled one is not silently ignored.
func parseParams(r *http.Request, body []byte, allowed ...string) (params, *APIError) {
	raw := url.Values{}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest(CodeParameterInvalid, "", "The query string is not valid URL encoding: "+err.Error())
	}
	merge(raw, q)
	if r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		fromBody, apiErr := bodyParams(r.Header.Get("Content-Type"), body)
		if apiErr != nil {
			return nil, apiErr
		}
		merge(raw, fromBody)
	}
	p := params{}
	for k, vs := range raw {
		if expandKey.MatchString(k) {
			k = "expand[]"
		}
		p[k] = append(p[k], vs...)
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case contains(identityParams, k):
		case !contains(allowed, k):
			return nil, &APIError{Status: http.StatusBadRequest, Code: CodeParameterUnknown, Param: k, Message: fmt.Sprintf(
				"Received unknown parameter: %s. This endpoint takes: %s.", printable(k), strings.Join(allowed, ", "))}
		case k != "expand[]" && len(p[k]) > 1:
			return nil, badRequest(CodeParameterInvalid, k, fmt.Sprintf("The parameter %s was sent %d times; send it once.", k, len(p[k])))
		}
	}
	return p, nil
}

func bodyParams(contentType string, body []byte) (url.Values, *APIError) {
	mt := ""
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, badRequest(CodeParameterInvalid, "", "The Content-Type header is malformed; send application/x-www-form-urlencoded.")
		}
	}
	// fetch() with a string body and no Content-Type sends text/plain: a
	// body that is a JSON object is read as one.
	if (mt == "" || mt == "text/plain") && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		mt = "application/json"
	}
	switch mt {
	case "", "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest(CodeParameterInvalid, "", "The request body is not valid form encoding (application/x-www-form-urlencoded): "+err.Error())
		}
		return v, nil
	case "application/json":
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return nil, badRequest(CodeParameterInvalid, "", "The request body is not a JSON object; send form-encoded parameters as Stripe's clients do, or a JSON object.")
		}
		v := url.Values{}
		if apiErr := flatten(v, "", obj); apiErr != nil {
			return nil, apiErr
		}
		return v, nil
	}
	return nil, badRequest(CodeParameterInvalid, "", fmt.Sprintf(
		"Content-Type %s is not supported; send application/x-www-form-urlencoded as Stripe's clients do.", printable(mt)))
}

// flatten turns a JSON object into form keys: {"scope":{"type":"user"}}
// becomes scope[type]=user, {"expand":["payload"]} expand[]=payload.
func flatten(v url.Values, prefix string, obj map[string]any) *APIError {
	for k, val := range obj {
		key := k
		if prefix != "" {
			key = prefix + "[" + k + "]"
		}
		switch x := val.(type) {
		case nil:
		case string:
			v.Add(key, x)
		case json.Number:
			v.Add(key, x.String())
		case bool:
			v.Add(key, fmt.Sprint(x))
		case map[string]any:
			if apiErr := flatten(v, key, x); apiErr != nil {
				return apiErr
			}
		case []any:
			for _, item := range x {
				s, ok := item.(string)
				if !ok {
					return badRequest(CodeParameterInvalid, key, fmt.Sprintf("The parameter %s must be a list of strings.", printable(key)))
				}
				v.Add(key+"[]", s)
			}
		}
	}
	return nil
}

func merge(dst, src url.Values) {
	for k, vs := range src {
		dst[k] = append(dst[k], vs...)
	}
}

func (p params) get(key string) string {
	if vs := p[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (p params) has(key string) bool { _, ok := p[key]; return ok }

// expands reports whether the expand list asks for field, and refuses
// anything else, as Stripe refuses a field that cannot be expanded.
func (p params) expands(field string, also ...string) (bool, *APIError) {
	want := false
	for _, e := range p["expand[]"] {
		switch {
		case e == field || contains(also, e):
			want = true
		default:
			return false, badRequest(CodeParameterInvalid, "expand", fmt.Sprintf("This property cannot be expanded (%s); the only expandable field is %s.", printable(e), field))
		}
	}
	return want, nil
}

func badRequest(code, param, msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: code, Param: param, Message: msg}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// printable quotes s for a message, shortened so a huge parameter does not
// flood the response.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
