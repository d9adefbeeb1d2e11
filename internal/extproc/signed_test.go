package extproc

import (
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/stripesig"
	"github.com/atlas-gateway/atlas/internal/translate"
)

func signedConfig() *model.Config {
	return &model.Config{
		StripeApps: []model.StripeApp{{Name: "app", SigningSecrets: []string{"absec_extproc_test"}, Tolerance: 300 * time.Second}},
		Adapters: []model.Adapter{{Name: "backend", Headers: []model.Header{{Name: "X-Key", Value: "k"}},
			StripeApp: &model.AdapterStripeApp{Name: "app"}}},
	}
}

func signedHeaders(extra ...string) *extprocv3.ProcessingRequest {
	user := `{"user_id":"usr_1","account_id":"acct_1"}`
	hs := []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("GET")},
		{Key: "stripe-signature", RawValue: []byte(stripesig.Sign([]byte(user), []byte("absec_extproc_test"), time.Now()))},
		{Key: "stripe-user", RawValue: []byte(user)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		hs = append(hs, &corev3.HeaderValue{Key: extra[i], RawValue: []byte(extra[i+1])})
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: true},
	}}
}

func send(t *testing.T, c extprocv3.ExternalProcessorClient, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	t.Helper()
	stream, err := c.Process(metadata.AppendToOutgoingContext(t.Context(), translate.AdapterMetadataKey, "backend"))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A forged Stripe-Account next to a genuine one must not pass: repeated
// headers are joined, so the pair disagrees with the signed account.
func TestRepeatedStripeAccountIsAMismatch(t *testing.T) {
	s, c := startServer(t)
	mustUpdate(t, s, signedConfig())
	if r := send(t, c, signedHeaders("stripe-account", "acct_1")); r.GetRequestHeaders() == nil {
		t.Fatalf("the genuine Stripe-Account alone was refused: %v", r)
	}
	r := send(t, c, signedHeaders("stripe-account", "acct_forged", "stripe-account", "acct_1"))
	ir := r.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 401 || string(ir.GetHeaders().GetSetHeaders()[0].GetHeader().GetRawValue()) != "identity_mismatch" {
		t.Fatalf("forged+genuine Stripe-Account: got %v, want 401 identity_mismatch", r)
	}
}
