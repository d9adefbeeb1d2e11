package extauthz

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/grpctest"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/verify"
)

func TestCheck(t *testing.T) {
	_, c := startServer(t, config(secret))
	big := strings.Repeat("a", maxBody+1)
	tests := []struct {
		name    string
		adapter string
		method  string
		headers map[string]string
		rawBody string
		modify  func(*authv3.CheckRequest) // what the table's fields cannot say
		// wantStatus 0 means forwarded, with wantSet set and wantAbsent not set.
		wantStatus int
		wantCode   string
		wantSet    map[string]string
		wantAbsent []string
	}{
		{name: "GET with stripe-user", adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user},
			wantSet: map[string]string{"Authorization": "Bearer " + apiKey, verify.HeaderStripeAccount: "acct_1",
				verify.HeaderVerifiedUser: "usr_1", verify.HeaderVerifiedAccount: "acct_1", verify.HeaderVerifiedApp: "my-app"}},
		{name: "GET with id headers on the backend adapter", adapter: "backend", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user-id": "usr_1", "stripe-account-id": "acct_1"},
			wantSet:    map[string]string{"X-Backend-Key": backKey, verify.HeaderVerifiedUser: "usr_1", verify.HeaderVerifiedAccount: "acct_1"},
			wantAbsent: []string{verify.HeaderStripeAccount, "Authorization"}},
		{name: "POST raw_body", adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(body, secret, now)}, rawBody: body,
			wantSet: map[string]string{verify.HeaderStripeAccount: "acct_1", verify.HeaderVerifiedUser: "usr_1"}},
		{name: "PUT body string when raw_body is empty", adapter: "backend", method: "PUT",
			headers: map[string]string{"stripe-signature": sign(body, secret, now)},
			modify:  func(r *authv3.CheckRequest) { r.Attributes.Request.Http.Body = body },
			wantSet: map[string]string{verify.HeaderVerifiedAccount: "acct_1"}},
		{name: "onBehalfOf overwrites a matching client Stripe-Account", adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user, "stripe-account": "acct_1"},
			wantSet: map[string]string{verify.HeaderStripeAccount: "acct_1"}},
		{name: "header_map with raw values (encode_raw_headers)", adapter: "stripe", method: "GET",
			modify: func(r *authv3.CheckRequest) {
				h := r.Attributes.Request.Http
				h.Method = ""
				h.Headers = map[string]string{"stripe-signature": "ignored when header_map is present"}
				h.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
					{Key: ":method", RawValue: []byte("GET")},
					{Key: "stripe-signature", RawValue: []byte(sign(user, secret, now))},
					{Key: "stripe-user", RawValue: []byte(user)},
				}}
			},
			wantSet: map[string]string{verify.HeaderStripeAccount: "acct_1"}},

		{name: "forged Stripe-Account", adapter: "stripe", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user, "stripe-account": "acct_victim"},
			wantStatus: 401, wantCode: "identity_mismatch"},
		{name: "forged Stripe-Account on the backend adapter", adapter: "backend", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user, "stripe-account": "acct_victim"},
			wantStatus: 401, wantCode: "identity_mismatch"},
		{name: "second Stripe-Account in header_map", adapter: "stripe", method: "GET",
			modify: func(r *authv3.CheckRequest) {
				r.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
					{Key: "stripe-signature", RawValue: []byte(sign(user, secret, now))},
					{Key: "stripe-user", RawValue: []byte(user)},
					{Key: "stripe-account", RawValue: []byte("acct_victim")},
					{Key: "stripe-account", RawValue: []byte("acct_1")},
				}}
			},
			wantStatus: 401, wantCode: "identity_mismatch"},
		{name: "signed with an unknown secret", adapter: "stripe", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, "absec_not_configured", now), "stripe-user": user},
			wantStatus: 401, wantCode: "signature_invalid"},
		{name: "no signature", adapter: "stripe", method: "GET",
			headers:    map[string]string{"stripe-user": user},
			wantStatus: 401, wantCode: "signature_missing"},
		{name: "timestamp too old", adapter: "stripe", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now.Add(-301*time.Second)), "stripe-user": user},
			wantStatus: 401, wantCode: "timestamp_outside_tolerance"},
		{name: "stripe-user not JSON", adapter: "stripe", method: "GET",
			headers:    map[string]string{"stripe-signature": sign("usr_1", secret, now), "stripe-user": "usr_1"},
			wantStatus: 401, wantCode: "payload_not_json"},
		{name: "body altered by one byte", adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(body, secret, now)}, rawBody: strings.Replace(body, "100", "900", 1),
			wantStatus: 401, wantCode: "signature_invalid"},
		{name: "body over the adapter's limit", adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(big, secret, now)}, rawBody: big,
			wantStatus: 413, wantCode: verify.CodeBodyTooLarge},
		{name: "unknown adapter", adapter: "gone", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user},
			wantStatus: 404, wantCode: verify.CodeUnknownAdapter},
		{name: "no adapter context extension", method: "GET",
			headers:    map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user},
			wantStatus: 404, wantCode: verify.CodeUnknownAdapter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := checkRequest(tc.adapter, tc.method, tc.headers, tc.rawBody)
			if tc.modify != nil {
				tc.modify(req)
			}
			resp := check(t, c, req)
			if tc.wantStatus == 0 {
				assertForwarded(t, resp, tc.wantSet, tc.wantAbsent)
				return
			}
			assertDenied(t, resp, tc.wantStatus, tc.wantCode)
		})
	}
}

func assertForwarded(t *testing.T, resp *authv3.CheckResponse, wantSet map[string]string, wantAbsent []string) {
	t.Helper()
	ok := resp.GetOkResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK || ok == nil {
		t.Fatalf("refused: %v", resp)
	}
	set := map[string]string{}
	for _, h := range ok.GetHeaders() {
		if len(h.GetHeader().GetRawValue()) > 0 {
			t.Errorf("%s uses raw_value, which Envoy's ext_authz ignores", h.GetHeader().GetKey())
		}
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("%s append action %v, want OVERWRITE_IF_EXISTS_OR_ADD (client copies must be replaced)", h.GetHeader().GetKey(), h.GetAppendAction())
		}
		set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	for k, v := range wantSet {
		if got, found := set[k]; !found || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, found, v)
		}
	}
	for _, k := range wantAbsent {
		if _, found := set[k]; found {
			t.Errorf("%s is set, want it absent", k)
		}
	}
	if !slices.Equal(ok.GetHeadersToRemove(), verify.SignatureHeaders) {
		t.Errorf("headers_to_remove = %v, want %v", ok.GetHeadersToRemove(), verify.SignatureHeaders)
	}
}

func assertDenied(t *testing.T, resp *authv3.CheckResponse, status int, code string) {
	t.Helper()
	d := resp.GetDeniedResponse()
	if d == nil {
		t.Fatalf("not denied: %v", resp)
	}
	wantGRPC := codes.PermissionDenied
	if status == 401 {
		wantGRPC = codes.Unauthenticated
	}
	if got := codes.Code(resp.GetStatus().GetCode()); got != wantGRPC {
		t.Errorf("gRPC status %v, want %v", got, wantGRPC)
	}
	if got := int(d.GetStatus().GetCode()); got != status {
		t.Errorf("HTTP status %d, want %d", got, status)
	}
	if got := errorCode(d); got != code {
		t.Errorf("%s = %q, want %q", extproc.ErrorCodeHeader, got, code)
	}
	if d.GetBody() == "" {
		t.Error("empty body: the caller learns nothing")
	}
	for _, leak := range []string{secret, oldSecret, apiKey, backKey, v1(sign(user, secret, now)), v1(sign(body, secret, now))} {
		if strings.Contains(d.GetBody(), leak) || strings.Contains(resp.GetStatus().GetMessage(), leak) {
			t.Errorf("response reveals %q: %v", leak, resp)
		}
	}
}

func errorCode(d *authv3.DeniedHttpResponse) string {
	for _, h := range d.GetHeaders() {
		if h.GetHeader().GetKey() == extproc.ErrorCodeHeader {
			return h.GetHeader().GetValue()
		}
	}
	return ""
}

// v1 is the expected signature in a header made by sign.
func v1(header string) string {
	_, sig, _ := strings.Cut(header, "v1=")
	return sig
}

// TestCheckResponses pins the whole wire shape Envoy reads.
func TestCheckResponses(t *testing.T) {
	_, c := startServer(t, config(secret))
	overwrite := func(k, v string) *corev3.HeaderValueOption {
		return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
	}
	tests := []struct {
		name string
		req  *authv3.CheckRequest
		want *authv3.CheckResponse
	}{
		{"allowed", checkRequest("stripe", "GET", map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user}, ""),
			&authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
					Headers: []*corev3.HeaderValueOption{
						overwrite("Authorization", "Bearer "+apiKey),
						overwrite(verify.HeaderVerifiedUser, "usr_1"),
						overwrite(verify.HeaderVerifiedAccount, "acct_1"),
						overwrite(verify.HeaderVerifiedApp, "my-app"),
						overwrite(verify.HeaderStripeAccount, "acct_1"),
					},
					HeadersToRemove: []string{"stripe-signature", "stripe-user", "stripe-user-id", "stripe-account-id"},
				}},
			}},
		{"denied", checkRequest("stripe", "GET", map[string]string{"stripe-user": user}, ""),
			&authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.Unauthenticated), Message: "signature_missing"},
				HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
					Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
					Headers: []*corev3.HeaderValueOption{overwrite("x-atlas-error-code", "signature_missing")},
					Body:    engineFor(t, config(secret)).Decide(checkInput("stripe", "GET", map[string]string{"stripe-user": user}), now).Message,
				}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { protoDiff(t, tc.want, check(t, c, tc.req)) })
	}
}

func engineFor(t *testing.T, cfg *model.Config) *verify.Engine {
	t.Helper()
	e, err := verify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func checkInput(adapter, method string, headers map[string]string) verify.Input {
	return inputOf(checkRequest(adapter, method, headers, ""))
}

func TestNewRefusesEverythingUntilUpdate(t *testing.T) {
	s := New(discard())
	c := authv3.NewAuthorizationClient(grpctest.Serve(t, s.Register))
	resp := check(t, c, checkRequest("stripe", "GET", map[string]string{"stripe-signature": sign(user, secret, time.Now()), "stripe-user": user}, ""))
	assertDenied(t, resp, 404, verify.CodeUnknownAdapter)
}

func TestUpdateRotatesSecrets(t *testing.T) {
	s, c := startServer(t, config(secret, oldSecret))
	get := func(key string) *authv3.CheckResponse {
		return check(t, c, checkRequest("stripe", "GET", map[string]string{"stripe-signature": sign(user, key, now), "stripe-user": user}, ""))
	}
	steps := []struct {
		name   string
		update *model.Config // applied before the step; nil keeps the config
		key    string
		want   int // 0 = forwarded
	}{
		{"current secret while both are configured", nil, secret, 0},
		{"previous secret while both are configured", nil, oldSecret, 0},
		{"previous secret after it is removed", config(secret), oldSecret, 401},
		{"current secret after the old one is removed", nil, secret, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.update != nil {
				mustUpdate(t, s, st.update)
			}
			resp := get(st.key)
			if st.want == 0 {
				assertForwarded(t, resp, map[string]string{verify.HeaderStripeAccount: "acct_1"}, nil)
				return
			}
			assertDenied(t, resp, st.want, "signature_invalid")
		})
	}
}

func TestUpdateErrorKeepsTheRunningConfig(t *testing.T) {
	s, c := startServer(t, config(secret))
	bad := config(secret)
	bad.Adapters[0].StripeApp.Name = "missing"
	if err := s.Update(bad); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Update(adapter naming a missing StripeApp) = %v, want an error naming it", err)
	}
	resp := check(t, c, checkRequest("stripe", "GET", map[string]string{"stripe-signature": sign(user, secret, now), "stripe-user": user}, ""))
	assertForwarded(t, resp, map[string]string{verify.HeaderStripeAccount: "acct_1"}, nil)
}
