package mom

import (
	"bytes"
	"context"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/datadir"
)

// fakeAdmin is an in-process admin API on 127.0.0.1:0: hand-written fakes of
// the four services over one state, behind an interceptor that demands
// `authorization: Bearer <token>` as the real server does.
type fakeAdmin struct {
	addr  string
	token string

	mu       sync.Mutex
	calls    int // RPCs that passed authentication
	adapters map[string]*adminv1.Adapter
	secrets  map[string][]byte
	envoys   []*adminv1.Envoy
	yaml     []byte
}

func startFakeAdmin(t *testing.T) *fakeAdmin {
	t.Helper()
	f := &fakeAdmin{
		token:    "test-token-0123456789",
		adapters: map[string]*adminv1.Adapter{},
		secrets:  map[string][]byte{},
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	srv := grpc.NewServer(grpc.UnaryInterceptor(f.auth))
	adminv1.RegisterAdapterServiceServer(srv, fakeAdapters{f: f})
	adminv1.RegisterSecretServiceServer(srv, fakeSecrets{f: f})
	adminv1.RegisterFleetServiceServer(srv, fakeFleet{f: f})
	adminv1.RegisterConfigServiceServer(srv, fakeConfig{f: f})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return f
}

// run calls Main with --admin pointing at f, a fresh data dir and the token
// in $ATLAS_ADMIN_TOKEN.
func (f *fakeAdmin) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv(datadir.EnvAdminToken, f.token)
	t.Setenv(envAdminAddr, "")
	return runAdmin(t, stdin, append(args, "--admin", f.addr, "--data-dir", t.TempDir())...)
}

// runAdmin calls Main with buffers, in the test's environment.
func runAdmin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func (f *fakeAdmin) auth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+f.token {
		return nil, status.Error(codes.Unauthenticated, "missing or wrong admin token")
	}
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return handler(ctx, req)
}

func (f *fakeAdmin) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func ago(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(time.Now().Add(-d)) }

type fakeAdapters struct {
	adminv1.UnimplementedAdapterServiceServer
	f *fakeAdmin
}

func (s fakeAdapters) ListAdapters(context.Context, *adminv1.ListAdaptersRequest) (*adminv1.ListAdaptersResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	resp := &adminv1.ListAdaptersResponse{}
	for _, name := range sortedKeys(s.f.adapters) {
		resp.Adapters = append(resp.Adapters, s.f.adapters[name])
	}
	return resp, nil
}

func (s fakeAdapters) GetAdapter(_ context.Context, req *adminv1.GetAdapterRequest) (*adminv1.GetAdapterResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	a, ok := s.f.adapters[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "adapter %q does not exist", req.GetName())
	}
	return &adminv1.GetAdapterResponse{Adapter: a}, nil
}

func (s fakeAdapters) ApplyAdapter(_ context.Context, req *adminv1.ApplyAdapterRequest) (*adminv1.ApplyAdapterResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	a := proto.Clone(req.GetAdapter()).(*adminv1.Adapter)
	switch {
	case a.GetName() == "bad":
		st, _ := status.New(codes.InvalidArgument, "invalid adapter \"bad\":\nadapter.base_url: x\nadapter.headers[0].name: y").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "adapter.base_url", Description: "must be an http or https URL"},
				{Field: "adapter.headers[0].name", Description: "Host cannot be injected"},
			},
		})
		return nil, st.Err()
	case s.f.adapters[a.GetName()].GetSource() == adminv1.AdapterSource_ADAPTER_SOURCE_FILE:
		return nil, status.Errorf(codes.FailedPrecondition, "adapter %q comes from the configuration file; edit the file instead", a.GetName())
	}
	_, existed := s.f.adapters[a.GetName()]
	a.Source, a.UpdateTime = adminv1.AdapterSource_ADAPTER_SOURCE_API, timestamppb.Now()
	s.f.adapters[a.GetName()] = a
	return &adminv1.ApplyAdapterResponse{Adapter: a, Created: !existed}, nil
}

func (s fakeAdapters) DeleteAdapter(_ context.Context, req *adminv1.DeleteAdapterRequest) (*adminv1.DeleteAdapterResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if _, ok := s.f.adapters[req.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "adapter %q does not exist", req.GetName())
	}
	delete(s.f.adapters, req.GetName())
	return &adminv1.DeleteAdapterResponse{}, nil
}

type fakeSecrets struct {
	adminv1.UnimplementedSecretServiceServer
	f *fakeAdmin
}

func (s fakeSecrets) SetSecret(_ context.Context, req *adminv1.SetSecretRequest) (*adminv1.SetSecretResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	_, existed := s.f.secrets[req.GetName()]
	s.f.secrets[req.GetName()] = req.GetValue()
	return &adminv1.SetSecretResponse{Created: !existed, Secret: &adminv1.SecretMetadata{
		Name: req.GetName(), SizeBytes: int64(len(req.GetValue())), CreateTime: timestamppb.Now(), UpdateTime: timestamppb.Now(),
	}}, nil
}

func (s fakeSecrets) ListSecrets(context.Context, *adminv1.ListSecretsRequest) (*adminv1.ListSecretsResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	resp := &adminv1.ListSecretsResponse{}
	for _, name := range sortedKeys(s.f.secrets) {
		resp.Secrets = append(resp.Secrets, &adminv1.SecretMetadata{
			Name: name, SizeBytes: int64(len(s.f.secrets[name])), CreateTime: ago(3*time.Hour + 5*time.Minute + 30*time.Second), UpdateTime: ago(90 * time.Second),
		})
	}
	return resp, nil
}

func (s fakeSecrets) DeleteSecret(_ context.Context, req *adminv1.DeleteSecretRequest) (*adminv1.DeleteSecretResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	switch {
	case req.GetName() == "IN_USE":
		return nil, status.Error(codes.FailedPrecondition, "secret IN_USE is referenced by adapters stripe; change them first")
	case s.f.secrets[req.GetName()] == nil:
		return nil, status.Errorf(codes.NotFound, "secret %s does not exist", req.GetName())
	}
	delete(s.f.secrets, req.GetName())
	return &adminv1.DeleteSecretResponse{}, nil
}

type fakeFleet struct {
	adminv1.UnimplementedFleetServiceServer
	f *fakeAdmin
}

func (s fakeFleet) ListEnvoys(context.Context, *adminv1.ListEnvoysRequest) (*adminv1.ListEnvoysResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return &adminv1.ListEnvoysResponse{Envoys: s.f.envoys}, nil
}

type fakeConfig struct {
	adminv1.UnimplementedConfigServiceServer
	f *fakeAdmin
}

func (s fakeConfig) ExportConfig(context.Context, *adminv1.ExportConfigRequest) (*adminv1.ExportConfigResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return &adminv1.ExportConfigResponse{Yaml: s.f.yaml}, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
