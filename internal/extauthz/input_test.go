package extauthz

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/verify"
)

func TestInputOf(t *testing.T) {
	withHTTP := func(h *authv3.AttributeContext_HttpRequest) *authv3.CheckRequest {
		return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			ContextExtensions: map[string]string{translate.ContextAdapterKey: "stripe"},
			Request:           &authv3.AttributeContext_Request{Http: h},
		}}
	}
	tests := []struct {
		name string
		req  *authv3.CheckRequest
		want verify.Input
	}{
		{"headers map", withHTTP(&authv3.AttributeContext_HttpRequest{Method: "POST", RawBody: []byte("raw"), Headers: map[string]string{
			"stripe-signature": "t=1,v1=aa", "stripe-user": "{}", "stripe-user-id": "usr_1",
			"stripe-account-id": "acct_1", "stripe-account": "acct_2", "content-type": "application/json",
		}}), verify.Input{Adapter: "stripe", Method: "POST", Signature: "t=1,v1=aa", StripeUser: "{}",
			UserID: "usr_1", AccountID: "acct_1", StripeAccount: "acct_2", Body: []byte("raw")}},
		{"header_map preferred, raw_value over value", withHTTP(&authv3.AttributeContext_HttpRequest{Method: "GET",
			Headers: map[string]string{"stripe-signature": "from the map"},
			HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: "Stripe-Signature", RawValue: []byte("t=1,v1=bb"), Value: "stale"},
				{Key: "stripe-user", Value: "value only"},
			}}}), verify.Input{Adapter: "stripe", Method: "GET", Signature: "t=1,v1=bb", StripeUser: "value only"}},
		{"header_map repeats merged like the map", withHTTP(&authv3.AttributeContext_HttpRequest{Method: "GET",
			HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: "stripe-account", RawValue: []byte("acct_1")},
				{Key: "stripe-account", RawValue: []byte("acct_2")},
			}}}), verify.Input{Adapter: "stripe", Method: "GET", StripeAccount: "acct_1,acct_2"}},
		{"method from :method when the field is empty", withHTTP(&authv3.AttributeContext_HttpRequest{
			Headers: map[string]string{":method": "PATCH"}}), verify.Input{Adapter: "stripe", Method: "PATCH"}},
		{"body string when raw_body is empty", withHTTP(&authv3.AttributeContext_HttpRequest{Method: "PUT", Body: "text"}),
			verify.Input{Adapter: "stripe", Method: "PUT", Body: []byte("text")}},
		{"raw_body wins over body", withHTTP(&authv3.AttributeContext_HttpRequest{Method: "PUT", Body: "text", RawBody: []byte("bytes")}),
			verify.Input{Adapter: "stripe", Method: "PUT", Body: []byte("bytes")}},
		{"empty request", &authv3.CheckRequest{}, verify.Input{}},
		{"nil request", nil, verify.Input{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, inputOf(tc.req)); d != "" {
				t.Errorf("inputOf (-want +got):\n%s", d)
			}
		})
	}
}
