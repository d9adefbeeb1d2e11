package extauthz

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/atlas-gateway/atlas/internal/grpctest"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/stripesig"
	"github.com/atlas-gateway/atlas/internal/translate"
)

// Secrets and keys are distinctive so a leak into a response is easy to
// spot.
const (
	secret    = "absec_extauthz_current_7c1f0e9d"
	oldSecret = "absec_extauthz_previous_2b8a4c6e"
	apiKey    = "sk_test_extauthz_5d3e"
	backKey   = "backend_key_extauthz_9a1b"
	maxBody   = 256
)

// now is the fixed clock of the ext_authz server in these tests.
var now = time.Unix(1_800_000_000, 0)

const (
	user = `{"user_id":"usr_1","account_id":"acct_1"}`
	body = `{"amount":100,"user_id":"usr_1","account_id":"acct_1"}`
)

// config has two signed adapters over one app: "stripe" acts on behalf of
// the signed account, "backend" is the app's own backend.
func config(secrets ...string) *model.Config {
	return &model.Config{
		StripeApps: []model.StripeApp{{Name: "my-app", SigningSecrets: secrets, Tolerance: 300 * time.Second, MaxBodyBytes: maxBody}},
		Adapters: []model.Adapter{
			{Name: "stripe", Headers: []model.Header{{Name: "Authorization", Value: "Bearer " + apiKey}},
				StripeApp: &model.AdapterStripeApp{Name: "my-app", OnBehalfOf: true}},
			{Name: "backend", Headers: []model.Header{{Name: "X-Backend-Key", Value: backKey}},
				StripeApp: &model.AdapterStripeApp{Name: "my-app"}},
		},
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer serves an ext_authz Server with the fixed clock and cfg.
func startServer(t *testing.T, cfg *model.Config) (*Server, authv3.AuthorizationClient) {
	t.Helper()
	s := New(discard())
	s.now = func() time.Time { return now }
	mustUpdate(t, s, cfg)
	return s, authv3.NewAuthorizationClient(grpctest.Serve(t, s.Register))
}

func mustUpdate(t *testing.T, s *Server, cfg *model.Config) {
	t.Helper()
	if err := s.Update(cfg); err != nil {
		t.Fatal(err)
	}
}

func sign(payload, key string, at time.Time) string {
	return stripesig.Sign([]byte(payload), []byte(key), at)
}

// checkRequest is what Envoy's ext_authz filter sends as configured by
// internal/translate: lowercase headers map, raw_body, adapter in the
// context extensions.
func checkRequest(adapter, method string, headers map[string]string, rawBody string) *authv3.CheckRequest {
	hs := map[string]string{":method": method, ":path": "/v1/apis/http/" + adapter + "/v1/things"}
	for k, v := range headers {
		hs[k] = v
	}
	r := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "req-1", Method: method, Headers: hs, RawBody: []byte(rawBody),
		}},
	}}
	if adapter != "" {
		r.Attributes.ContextExtensions = map[string]string{translate.ContextAdapterKey: adapter}
	}
	return r
}

func check(t *testing.T, c authv3.AuthorizationClient, req *authv3.CheckRequest) *authv3.CheckResponse {
	t.Helper()
	resp, err := c.Check(t.Context(), req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp
}

// protoDiff is the one place protos are compared.
func protoDiff(t *testing.T, want, got proto.Message) {
	t.Helper()
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("proto mismatch (-want +got):\n%s", d)
	}
}
