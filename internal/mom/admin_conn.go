package mom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/datadir"
)

// adminTimeout bounds every admin RPC, connection included, so a wrong
// address fails fast instead of hanging.
const adminTimeout = 10 * time.Second

// adminSession is one admin command's connection and its output settings.
type adminSession struct {
	*env
	opts  adminOptions
	token adminToken
	conn  *grpc.ClientConn

	adapters adminv1.AdapterServiceClient
	secrets  adminv1.SecretServiceClient
	fleet    adminv1.FleetServiceClient
	config   adminv1.ConfigServiceClient
}

// adminToken is the bearer token and where it came from, for messages.
type adminToken struct {
	value   string
	from    string // "$ATLAS_ADMIN_TOKEN" or the token file's path
	fromEnv bool
}

func (e *env) newAdminSession(o adminOptions) (*adminSession, error) {
	mtls := o.tlsCert != ""
	tok, err := e.adminToken(o.dataDir, mtls)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if o.tlsCA != "" || mtls {
		cfg, err := adminTLS(o)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if tok.value != "" {
		dialOpts = append(dialOpts, grpc.WithUnaryInterceptor(bearer(tok.value)))
	}
	conn, err := grpc.NewClient(o.addr, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("--admin %q: %w (want host:port, e.g. %s)", o.addr, err, DefaultAdminAddr)
	}
	return &adminSession{
		env: e, opts: o, token: tok, conn: conn,
		adapters: adminv1.NewAdapterServiceClient(conn),
		secrets:  adminv1.NewSecretServiceClient(conn),
		fleet:    adminv1.NewFleetServiceClient(conn),
		config:   adminv1.NewConfigServiceClient(conn),
	}, nil
}

func (s *adminSession) close() { _ = s.conn.Close() }

// rpcContext bounds one RPC by adminTimeout.
func (s *adminSession) rpcContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, adminTimeout)
}

// bearer sends the token as `authorization: Bearer TOKEN` metadata. It is an
// interceptor rather than PerCallCredentials so that it also works over the
// plaintext loopback connection.
func bearer(token string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// adminToken finds the token: $ATLAS_ADMIN_TOKEN, else the server's token
// file under dataDir. With an mTLS client certificate a token is optional.
func (e *env) adminToken(dataDir string, mtls bool) (adminToken, error) {
	if v, ok := e.lookupEnv(datadir.EnvAdminToken); ok && strings.TrimSpace(v) != "" {
		return adminToken{value: strings.TrimSpace(v), from: "$" + datadir.EnvAdminToken, fromEnv: true}, nil
	}
	path := datadir.TokenFile(dataDir)
	data, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(data)) != "":
		return adminToken{value: strings.TrimSpace(string(data)), from: path}, nil
	case mtls && (err == nil || errors.Is(err, fs.ErrNotExist)):
		return adminToken{}, nil
	case err == nil:
		return adminToken{}, fmt.Errorf("no admin token: $%s is not set and %s is empty; set $%s to the token the server runs with, or restart the server so it writes a new one", datadir.EnvAdminToken, path, datadir.EnvAdminToken)
	case errors.Is(err, fs.ErrNotExist):
		return adminToken{}, fmt.Errorf("no admin token: $%s is not set and %s does not exist. The server writes that file on its first start (`bin/atlas run -f FILE --data-dir DIR`): pass the server's data directory with --data-dir, or set $%s to the token the server runs with", datadir.EnvAdminToken, path, datadir.EnvAdminToken)
	default:
		return adminToken{}, fmt.Errorf("read the admin token: %w; fix its permissions, or set $%s instead", err, datadir.EnvAdminToken)
	}
}

// adminTLS builds the client TLS configuration from --tls-ca/--tls-cert/--tls-key.
func adminTLS(o adminOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if host, _, err := net.SplitHostPort(o.addr); err == nil {
		cfg.ServerName = host
	}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", o.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
