package extauthz

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/metadata"

	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/grpctest"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// outcome is what either filter makes Envoy do with a request.
type outcome struct {
	Status  int // 0: forwarded
	Code    string
	Message string
	Set     map[string]string
	Remove  []string
}

// TestSameDecisionAsExtProc runs each request through both servers' gRPC
// interfaces, the way Envoy would send it to each filter, and expects the
// same outcome: switching filters must not change what a client sees.
// Both servers use the real clock (ext_proc's is not injectable), so
// signatures are made now.
func TestSameDecisionAsExtProc(t *testing.T) {
	cfg := config(secret)
	authz := New(discard())
	mustUpdate(t, authz, cfg)
	proc := extproc.New(discard())
	if err := proc.Update(cfg); err != nil {
		t.Fatal(err)
	}
	authzClient := authv3.NewAuthorizationClient(grpctest.Serve(t, authz.Register))
	procClient := extprocv3.NewExternalProcessorClient(grpctest.Serve(t, proc.Register))

	at := time.Now()
	big := strings.Repeat("a", maxBody+1)
	tests := []struct {
		name, adapter, method string
		headers               map[string]string
		body                  string
		want                  int // HTTP status both must agree on; 0: forwarded
		// differentMessage: the 404 text is each filter's own; status and
		// code must still agree.
		differentMessage bool
	}{
		{name: "GET with stripe-user", adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user": user}},
		{name: "GET with id headers on the backend", adapter: "backend", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user-id": "usr_1", "stripe-account-id": "acct_1"}},
		{name: "DELETE signs the headers, not the body", adapter: "stripe", method: "DELETE",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user": user}},
		{name: "POST body", adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(body, secret, at)}, body: body},
		{name: "PATCH body on the backend", adapter: "backend", method: "PATCH",
			headers: map[string]string{"stripe-signature": sign(body, secret, at)}, body: body},
		{name: "client Stripe-Account equal to the signed one", adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user": user, "stripe-account": "acct_1"}},
		{name: "forged Stripe-Account", want: 401, adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user": user, "stripe-account": "acct_victim"}},
		{name: "unknown secret", want: 401, adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, oldSecret, at), "stripe-user": user}},
		{name: "no signature", want: 401, adapter: "backend", method: "GET",
			headers: map[string]string{"stripe-user": user}},
		{name: "timestamp in the future", want: 401, adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at.Add(time.Hour)), "stripe-user": user}},
		{name: "stripe-user not JSON", want: 401, adapter: "stripe", method: "GET",
			headers: map[string]string{"stripe-signature": sign("nope", secret, at), "stripe-user": "nope"}},
		{name: "body altered", want: 401, adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(body, secret, at)}, body: body + " "},
		{name: "body over the limit", want: 413, adapter: "stripe", method: "POST",
			headers: map[string]string{"stripe-signature": sign(big, secret, at)}, body: big},
		{name: "unknown adapter", want: 404, adapter: "gone", method: "GET",
			headers: map[string]string{"stripe-signature": sign(user, secret, at), "stripe-user": user}, differentMessage: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			viaAuthz := outcomeOfCheck(check(t, authzClient, checkRequest(tc.adapter, tc.method, tc.headers, tc.body)))
			viaProc := processOutcome(t, procClient, tc.adapter, tc.method, tc.headers, tc.body)
			if tc.differentMessage {
				viaAuthz.Message, viaProc.Message = "", ""
			}
			if viaAuthz.Status != tc.want {
				t.Errorf("ext_authz: status %d (%s), want %d", viaAuthz.Status, viaAuthz.Code, tc.want)
			}
			if d := cmp.Diff(viaProc, viaAuthz); d != "" {
				t.Errorf("ext_authz differs from ext_proc (-ext_proc +ext_authz):\n%s", d)
			}
		})
	}
}

func outcomeOfCheck(resp *authv3.CheckResponse) outcome {
	if d := resp.GetDeniedResponse(); d != nil {
		return outcome{Status: int(d.GetStatus().GetCode()), Code: errorCode(d), Message: d.GetBody()}
	}
	ok := resp.GetOkResponse()
	o := outcome{Set: map[string]string{}, Remove: ok.GetHeadersToRemove()}
	for _, h := range ok.GetHeaders() {
		o.Set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return o
}

// processOutcome plays Envoy's ext_proc filter as internal/translate
// configures it on signed routes: request headers, then for a request with
// a body the whole buffered body, until the server decides.
func processOutcome(t *testing.T, c extprocv3.ExternalProcessorClient, adapter, method string, headers map[string]string, body string) outcome {
	t.Helper()
	stream, err := c.Process(metadata.AppendToOutgoingContext(t.Context(), translate.AdapterMetadataKey, adapter))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.CloseSend() }()
	hs := []*corev3.HeaderValue{{Key: ":method", RawValue: []byte(method)}}
	if body != "" {
		hs = append(hs, &corev3.HeaderValue{Key: "content-length", RawValue: []byte(strconv.Itoa(len(body)))})
	}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		hs = append(hs, &corev3.HeaderValue{Key: k, RawValue: []byte(headers[k])})
	}
	msgs := []*extprocv3.ProcessingRequest{{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: body == "",
	}}}}
	if body != "" {
		msgs = append(msgs, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
			Body: []byte(body), EndOfStream: true,
		}}})
	}
	for i, msg := range msgs {
		if err := stream.Send(msg); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ir := resp.GetImmediateResponse(); ir != nil {
			o := outcome{Status: int(ir.GetStatus().GetCode()), Message: string(ir.GetBody())}
			for _, h := range ir.GetHeaders().GetSetHeaders() {
				if h.GetHeader().GetKey() == extproc.ErrorCodeHeader {
					o.Code = string(h.GetHeader().GetRawValue())
				}
			}
			return o
		}
		m := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
		if b := resp.GetRequestBody(); b != nil {
			m = b.GetResponse().GetHeaderMutation()
		}
		if m == nil && i < len(msgs)-1 {
			continue // headers acknowledged; the decision waits for the body
		}
		o := outcome{Set: map[string]string{}, Remove: m.GetRemoveHeaders()}
		for _, h := range m.GetSetHeaders() {
			o.Set[h.GetHeader().GetKey()] = string(h.GetHeader().GetRawValue())
		}
		return o
	}
	t.Fatal("ext_proc never decided")
	return outcome{}
}
