package admin

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/store"
	"github.com/atlas-gateway/atlas/internal/xds"
)

const testToken = "test-token-0123456789"

// fileYAML is the configuration file of every test: one file adapter whose
// header references the stored secret FILE_KEY.
const fileYAML = `apiVersion: moment.dev/atlas/v1alpha1
kind: Atlas
spec:
  apiAdapters:
  - adapterRef:
      apiVersion: moment.dev/adapters/v1alpha1
      kind: HTTP
      name: filed
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: filed
spec:
  baseUrl: https://api.example.com
  headers:
  - name: Authorization
    value: Bearer ${{ secret:FILE_KEY }}
`

// Secret values the tests set; none may appear in a response or a log line.
const (
	fileKeyValue   = "sk_file_VALUE_never_shown"
	stripeKeyValue = "sk_live_VALUE_never_shown"
)

var fileLoadedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var fileAdapter = FileAdapter{
	Name: "filed", BaseURL: "https://api.example.com", Source: "atlas.yml:10", UpdatedAt: fileLoadedAt,
	Headers: []Header{{Name: "Authorization", Template: "Bearer ${{ secret:FILE_KEY }}"}},
}

// env is one running admin server and a client connected to it.
type env struct {
	store   *fakeStore
	conn    *grpc.ClientConn
	logs    *syncBuffer
	seen    *syncBuffer // every response and error the client received, as text
	secrets []string    // values that must never appear in seen or logs
	addr    string
}

type envOption func(*Deps)

// newEnv starts a real grpc.Server with the admin interceptors on
// 127.0.0.1:0 and connects a client that sends the right token. At the end
// of the test it checks that no secret value reached a response or the log.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{store: newFakeStore(), logs: &syncBuffer{}, seen: &syncBuffer{}, secrets: []string{fileKeyValue, stripeKeyValue, testToken}}
	if _, _, err := e.store.SetSecret(t.Context(), "FILE_KEY", []byte(fileKeyValue)); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := Deps{
		Store:        e.store,
		Validate:     validator(e.store),
		FileAdapter:  func(name string) (string, bool) { return fileAdapter.Source, name == fileAdapter.Name },
		FileAdapters: func() []FileAdapter { return []FileAdapter{fileAdapter} },
		FileConfig:   func() []byte { return []byte(fileYAML) },
		Fleet:        func() []xds.NodeStatus { return nil },
		Log:          log,
	}
	for _, o := range opts {
		o(&d)
	}
	g := grpc.NewServer(ServerOptions(testToken, log)...)
	New(d).Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	e.addr = lis.Addr().String()
	e.conn = e.dial(t, grpc.WithPerRPCCredentials(bearer(testToken)))
	t.Cleanup(func() { e.checkNoSecret(t) })
	return e
}

// dial connects to the server, recording what the client receives.
func (e *env) dial(t *testing.T, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(e.record)}, opts...)
	conn, err := grpc.NewClient(e.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (e *env) record(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		e.seen.WriteString(prototext.Format(status.Convert(err).Proto()) + "\n")
	} else if m, ok := reply.(proto.Message); ok {
		e.seen.WriteString(prototext.Format(m) + "\n")
	}
	return err
}

func (e *env) checkNoSecret(t *testing.T) {
	t.Helper()
	for _, s := range e.secrets {
		if strings.Contains(e.seen.String(), s) {
			t.Errorf("a response carries the secret %q:\n%s", s, e.seen.String())
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log carries the secret %q:\n%s", s, e.logs.String())
		}
	}
}

func (e *env) adapters() adminv1.AdapterServiceClient { return adminv1.NewAdapterServiceClient(e.conn) }
func (e *env) secretsClient() adminv1.SecretServiceClient {
	return adminv1.NewSecretServiceClient(e.conn)
}

// validator is what the gateway does: parse the file with the candidate
// API adapters, stored secrets resolving ${{ secret:NAME }}.
func validator(st store.Store) func(context.Context, []store.Adapter) error {
	return func(ctx context.Context, api []store.Adapter) error {
		docs := make([]config.APIAdapter, len(api))
		for i, a := range api {
			docs[i] = config.APIAdapter{Name: a.Name, Document: a.Document}
		}
		_, err := config.ParseWithAPI("atlas.yml", []byte(fileYAML), docs, testOptions(ctx, st))
		return err
	}
}

func testOptions(ctx context.Context, st store.Store) config.Options {
	return config.Options{
		LookupEnv: func(string) (string, bool) { return "", false },
		LookupSecret: func(name string) (string, bool) {
			v, err := st.GetSecret(ctx, name)
			return string(v), err == nil
		},
		ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist },
	}
}

// bearer sends `authorization: Bearer TOKEN` on every call, over plaintext.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// wantStatus fails unless err has code want and a message containing every
// part; it returns the status.
func wantStatus(t *testing.T, err error, want codes.Code, parts ...string) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != want {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), want)
	}
	for _, p := range parts {
		if !strings.Contains(st.Message(), p) {
			t.Errorf("message %q does not contain %q", st.Message(), p)
		}
	}
	return st
}

// fieldViolations returns the BadRequest detail of an InvalidArgument
// status as "field: description" lines, failing if there is none.
func fieldViolations(t *testing.T, st *status.Status) []string {
	t.Helper()
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("status %q has no BadRequest field violation", st.Message())
	}
	return out
}

// wantViolations checks the fields, in order, and that each description
// contains the matching text.
func wantViolations(t *testing.T, err error, want ...[2]string) {
	t.Helper()
	st := wantStatus(t, err, codes.InvalidArgument)
	got := fieldViolations(t, st)
	if len(got) != len(want) {
		t.Fatalf("violations = %q, want %d", got, len(want))
	}
	for i, w := range want {
		field, desc, _ := strings.Cut(got[i], ": ")
		if field != w[0] || !strings.Contains(desc, w[1]) {
			t.Errorf("violation %d = %q, want field %s with %q", i, got[i], w[0], w[1])
		}
	}
}

// diffProto is the one way tests compare protos.
func diffProto(t *testing.T, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
