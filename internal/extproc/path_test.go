package extproc

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/atlas-gateway/atlas/internal/model"
)

func TestAdapterFromPath(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/apis/http/stripe/v1/charges": "stripe",
		"/v1/apis/http/stripe":            "stripe",
		"/v1/apis/http/stripe?limit=3":    "stripe",
		"/v1/apis/http/stripe/":           "stripe",
		"/v1/apis/http/":                  "",
		"/v1/apis/http":                   "",
		"/v1/apis/oauth/github/user":      "",
		"/V1/APIS/HTTP/stripe":            "", // Envoy matches routes case-sensitively
		"":                                "",
	} {
		if got := adapterFromPath(path); got != want {
			t.Errorf("adapterFromPath(%q) = %q, want %q", path, got, want)
		}
	}
}

// A plain adapter's route in ext_proc mode sends no adapter metadata: the
// server injects the credentials of the adapter the path names, and answers
// 404 for a path that names none.
func TestProcessWithoutMetadataUsesPath(t *testing.T) {
	s, c := startServer(t)
	mustUpdate(t, s, &model.Config{Adapters: []model.Adapter{
		{Name: "a", Headers: []model.Header{{Name: "Authorization", Value: "Bearer a"}}},
		{Name: "b", Headers: []model.Header{{Name: "Authorization", Value: "Bearer b"}}},
	}})
	for path, want := range map[string]string{
		"/v1/apis/http/a/v1/x": "Bearer a",
		"/v1/apis/http/b?x=1":  "Bearer b",
	} {
		resp := pathRoundTrip(t, c, path)
		set := resp.GetRequestHeaders().GetResponse().GetHeaderMutation().GetSetHeaders()
		if len(set) != 1 || string(set[0].GetHeader().GetRawValue()) != want {
			t.Errorf("%s: mutations %v, want Authorization %q", path, set, want)
		}
	}
	for _, path := range []string{"/v1/apis/http/c/x", "/elsewhere"} {
		if code := pathRoundTrip(t, c, path).GetImmediateResponse().GetStatus().GetCode(); code != 404 {
			t.Errorf("%s: status %d, want an immediate 404", path, code)
		}
	}
}

func pathRoundTrip(t *testing.T, c extprocv3.ExternalProcessorClient, path string) *extprocv3.ProcessingResponse {
	t.Helper()
	req := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte(path)},
			{Key: "authorization", RawValue: []byte("Bearer sk_live_forged")},
		}}},
	}}
	return exchangeOne(t, t.Context(), c, req)
}
