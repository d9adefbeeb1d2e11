package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// adminMethods lists every admin RPC, so that a new one cannot skip auth.
func adminMethods() []string {
	var out []string
	for _, d := range []grpc.ServiceDesc{adminv1.AdapterService_ServiceDesc, adminv1.SecretService_ServiceDesc, adminv1.FleetService_ServiceDesc, adminv1.ConfigService_ServiceDesc} {
		for _, m := range d.Methods {
			out = append(out, "/"+d.ServiceName+"/"+m.MethodName)
		}
		for _, s := range d.Streams {
			out = append(out, "/"+d.ServiceName+"/"+s.StreamName)
		}
	}
	return out
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	const wrong = "wrong-token-LEAK"
	e.secrets = append(e.secrets, wrong)
	anon := e.dial(t)
	tests := []struct {
		name, auth string // auth "" sends no authorization header
		want       codes.Code
		message    string
	}{
		{"no token", "", codes.Unauthenticated, "the admin API requires a token; send the metadata `authorization: Bearer <token>`"},
		{"wrong token", "Bearer " + wrong, codes.Unauthenticated, "the admin token is wrong"},
		{"token prefix", "Bearer " + testToken[:10], codes.Unauthenticated, "the admin token is wrong"},
		{"not bearer", "Basic " + testToken, codes.Unauthenticated, "must be `Bearer <token>`"},
		{"bare token", testToken, codes.Unauthenticated, "must be `Bearer <token>`"},
		{"right token", "Bearer " + testToken, codes.OK, ""},
		{"scheme is case-insensitive", "bearer " + testToken, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range adminMethods() {
				ctx := t.Context()
				if tt.auth != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, "authorization", tt.auth)
				}
				err := anon.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
				if tt.want == codes.OK {
					if status.Code(err) == codes.Unauthenticated {
						t.Errorf("%s: %v", method, err)
					}
					continue
				}
				wantStatus(t, err, tt.want, tt.message, "ATLAS_ADMIN_TOKEN")
			}
		})
	}
	t.Run("rejections are logged without the token", func(t *testing.T) {
		logs := e.logs.String()
		for _, want := range []string{"admin request rejected", "reason=\"wrong token\"", "peer=127.0.0.1:", "rpc=/atlas.admin.v1.SecretService/SetSecret"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
		if strings.Contains(logs, testToken[:10]) {
			t.Errorf("the log carries a token:\n%s", logs)
		}
	})
	t.Run("health without token", func(t *testing.T) {
		for _, service := range []string{"", "atlas.admin.v1.AdapterService"} {
			resp, err := healthpb.NewHealthClient(anon).Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health %q = %v, %v; want SERVING", service, resp, err)
			}
		}
	})
	t.Run("reflection without token", func(t *testing.T) {
		got := listServices(t, anon)
		for _, want := range []string{"atlas.admin.v1.AdapterService", "atlas.admin.v1.SecretService", "atlas.admin.v1.FleetService", "atlas.admin.v1.ConfigService", "grpc.health.v1.Health"} {
			if !strings.Contains(got, want+"\n") {
				t.Errorf("reflection lists:\n%s\nwant %s", got, want)
			}
		}
	})
}

// listServices is `grpcurl list` through server reflection.
func listServices(t *testing.T, conn *grpc.ClientConn) string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var b strings.Builder
	for _, s := range resp.GetListServicesResponse().GetService() {
		b.WriteString(s.GetName() + "\n")
	}
	_ = stream.CloseSend()
	return b.String()
}

func TestAuthenticatorWithoutToken(t *testing.T) {
	// An empty token (mTLS only) accepts no bearer token, not even an empty one.
	a := newAuthenticator("", nil)
	handler := func(context.Context, any) (any, error) { return "ok", nil }
	info := &grpc.UnaryServerInfo{FullMethod: "/atlas.admin.v1.AdapterService/ListAdapters"}
	for _, auth := range []string{"Bearer ", "Bearer", "Bearer x"} {
		ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", auth))
		_, err := a.unary(ctx, nil, info, handler)
		wantStatus(t, err, codes.Unauthenticated)
	}
	t.Run("verified client certificate", func(t *testing.T) {
		cert, _ := x509.ParseCertificate(mustDER(t, testCA(t)))
		ctx := peer.NewContext(t.Context(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}})
		if _, err := a.unary(ctx, nil, info, handler); err != nil {
			t.Fatalf("a verified client certificate was refused: %v", err)
		}
	})
	t.Run("unverified TLS peer", func(t *testing.T) {
		ctx := peer.NewContext(t.Context(), &peer.Peer{AuthInfo: credentials.TLSInfo{}})
		_, err := a.unary(ctx, nil, info, handler)
		wantStatus(t, err, codes.Unauthenticated)
	})
}

func mustDER(t *testing.T, pemData []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(pemData)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
