package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

// exemptPrefixes are the services any client may call without credentials,
// so that `grpcurl list` and health checks work.
var exemptPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

const howToAuthenticate = "send the metadata `authorization: Bearer <token>`: the token is $" + datadir.EnvAdminToken +
	" where the server runs, or the content of the admin-token file in its data directory (mom reads either by itself)"

// ServerOptions returns the interceptors every admin gRPC server needs: a
// request-scoped logger, then authentication. A call passes with a verified
// client certificate (see TLSConfig) or with `authorization: Bearer TOKEN`;
// health and reflection need neither. An empty token accepts client
// certificates only.
func ServerOptions(token string, log *slog.Logger) []grpc.ServerOption {
	a := newAuthenticator(token, log)
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(a.unary),
		grpc.ChainStreamInterceptor(a.stream),
	}
}

func newAuthenticator(token string, log *slog.Logger) *authenticator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &authenticator{log: log, hasToken: token != "", sum: sha256.Sum256([]byte(token))}
}

type authenticator struct {
	log      *slog.Logger
	hasToken bool
	sum      [32]byte // of the token, so the comparison leaks no length
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	log := a.log.With("rpc", info.FullMethod, "request_id", requestID())
	if err := a.check(ctx, info.FullMethod, log); err != nil {
		return nil, err
	}
	return handler(context.WithValue(ctx, loggerKey{}, log), req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	log := a.log.With("rpc", info.FullMethod, "request_id", requestID())
	if err := a.check(ss.Context(), info.FullMethod, log); err != nil {
		return err
	}
	return handler(srv, ss)
}

// check returns nil when the call may proceed, else an Unauthenticated
// error saying how to authenticate. It logs rejections, never the token.
func (a *authenticator) check(ctx context.Context, method string, log *slog.Logger) error {
	for _, p := range exemptPrefixes {
		if strings.HasPrefix(method, p) {
			return nil
		}
	}
	p, _ := peer.FromContext(ctx)
	if p != nil {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			return nil
		}
	}
	reason, msg := a.checkToken(ctx)
	if reason == "" {
		return nil
	}
	addr := "unknown"
	if p != nil && p.Addr != nil {
		addr = p.Addr.String()
	}
	log.Warn("admin request rejected", "reason", reason, "peer", addr)
	return status.Error(codes.Unauthenticated, msg)
}

// checkToken returns an empty reason when the bearer token matches.
func (a *authenticator) checkToken(ctx context.Context) (reason, msg string) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	switch {
	case len(vals) == 0:
		return "no token", "the admin API requires a token; " + howToAuthenticate
	case len(vals) > 1:
		return "several authorization headers", "send exactly one authorization header; " + howToAuthenticate
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "not a bearer token", "the authorization header must be `Bearer <token>`; " + howToAuthenticate
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if !a.hasToken || subtle.ConstantTimeCompare(got[:], a.sum[:]) != 1 {
		return "wrong token", "the admin token is wrong; " + howToAuthenticate
	}
	return "", ""
}

// requestID is a short random id that ties a request's log lines together.
func requestID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
