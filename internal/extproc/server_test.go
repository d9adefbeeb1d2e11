package extproc

import (
	"context"
	"io"
	"log/slog"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"

	"github.com/atlas-gateway/atlas/internal/grpctest"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
)

func startServer(t *testing.T) (*Server, extprocv3.ExternalProcessorClient) {
	t.Helper()
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	conn := grpctest.Serve(t, s.Register)
	return s, extprocv3.NewExternalProcessorClient(conn)
}

func headersRequest() *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "authorization", RawValue: []byte("Bearer sk_live_forged")},
		}}},
	}}
}

func roundTrip(t *testing.T, c extprocv3.ExternalProcessorClient, adapter string) *extprocv3.ProcessingResponse {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(t.Context(), translate.AdapterMetadataKey, adapter)
	return exchangeOne(t, ctx, c, headersRequest())
}

// exchangeOne sends one message on a new stream and returns the answer.
func exchangeOne(t *testing.T, ctx context.Context, c extprocv3.ExternalProcessorClient, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	t.Helper()
	stream, err := c.Process(ctx)
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
	_ = stream.CloseSend()
	return resp
}

func TestProcessInjectsAdapterHeaders(t *testing.T) {
	s, c := startServer(t)
	mustUpdate(t, s, &model.Config{Adapters: []model.Adapter{{
		Name: "datadog",
		Headers: []model.Header{
			{Name: "DD-API-KEY", Value: "k1"},
			{Name: "DD-APPLICATION-KEY", Value: "k2"},
		},
	}}})
	resp := roundTrip(t, c, "datadog")
	set := resp.GetRequestHeaders().GetResponse().GetHeaderMutation().GetSetHeaders()
	if len(set) != 2 {
		t.Fatalf("got %d header mutations, want 2: %v", len(set), resp)
	}
	for i, want := range []struct{ k, v string }{{"DD-API-KEY", "k1"}, {"DD-APPLICATION-KEY", "k2"}} {
		h := set[i]
		if h.GetHeader().GetKey() != want.k || string(h.GetHeader().GetRawValue()) != want.v || h.GetHeader().GetValue() != "" {
			t.Errorf("mutation %d = %v, want %s with raw_value %q and no value", i, h, want.k, want.v)
		}
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("mutation %d append action %v, want OVERWRITE_IF_EXISTS_OR_ADD (client copies must be replaced)", i, h.GetAppendAction())
		}
	}
}

func TestProcessUnknownAdapterAnswers404(t *testing.T) {
	s, c := startServer(t)
	mustUpdate(t, s, &model.Config{})
	resp := roundTrip(t, c, "gone")
	ir := resp.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 404 {
		t.Fatalf("got %v, want an immediate 404", resp)
	}
}

func TestUpdateReachesNewStreams(t *testing.T) {
	s, c := startServer(t)
	mustUpdate(t, s, &model.Config{Adapters: []model.Adapter{{Name: "a", Headers: []model.Header{{Name: "X-Key", Value: "old"}}}}})
	mustUpdate(t, s, &model.Config{Adapters: []model.Adapter{{Name: "a", Headers: []model.Header{{Name: "X-Key", Value: "new"}}}}})
	got := roundTrip(t, c, "a").GetRequestHeaders().GetResponse().GetHeaderMutation().GetSetHeaders()
	if len(got) != 1 || string(got[0].GetHeader().GetRawValue()) != "new" {
		t.Fatalf("after Update the stream got %v, want X-Key=new", got)
	}
}

func mustUpdate(t *testing.T, s *Server, cfg *model.Config) {
	t.Helper()
	if err := s.Update(cfg); err != nil {
		t.Fatal(err)
	}
}
