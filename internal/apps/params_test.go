package apps

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// parseParams takes anything a client sends without panicking, and keeps
// only allowed keys.
func FuzzParseParams(f *testing.F) {
	f.Add("name=a&scope%5Btype%5D=user", "application/x-www-form-urlencoded", "expand[0]=payload")
	f.Add(`{"name":"a","scope":{"type":"user"},"expand":["payload"]}`, "application/json", "")
	f.Add(`{"scope":{"type":{"deep":[1]}}}`, "", "")
	f.Add("%zz", "text/plain", "name=%")
	f.Fuzz(func(t *testing.T, body, contentType, query string) {
		req := httptest.NewRequest("POST", "/v1/apps/secrets", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		p, apiErr := parseParams(req, []byte(body), "name", "payload", "scope[type]", "scope[user]", "expand[]")
		if apiErr != nil {
			if apiErr.Status != 400 || apiErr.Message == "" {
				t.Fatalf("bad error %+v", apiErr)
			}
			return
		}
		for k := range p {
			if !contains([]string{"name", "payload", "scope[type]", "scope[user]", "expand[]", "user_id", "account_id"}, k) {
				t.Fatalf("kept unknown key %q", k)
			}
		}
	})
}
