package admin

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/testpki"
)

// pki is a CA and PEM files signed by it, in a temporary directory.
type pki struct {
	dir string
	ca  *testpki.CA
}

// newPKI makes a CA and writes ca.pem.
func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: testpki.NewCA(t, "ca")}
	p.write(t, "ca.pem", p.ca.PEM())
	return p
}

// issue writes NAME.pem and NAME-key.pem, signed by the CA.
func (p *pki) issue(t *testing.T, name string) {
	t.Helper()
	der, key := p.ca.Issue(t, name)
	p.write(t, name+".pem", testpki.PEM(der))
	p.write(t, name+"-key.pem", testpki.KeyPEM(t, key))
}

func (p *pki) write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p.path(name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "server")
	p.issue(t, "client")
	other := newPKI(t) // a CA the server does not trust
	other.issue(t, "stranger")

	cfg, err := TLSConfig(p.path("server.pem"), p.path("server-key.pem"), p.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	opts := append(ServerOptions("", nil), grpc.Creds(credentials.NewTLS(cfg)))
	g := grpc.NewServer(opts...)
	New(Deps{Store: newFakeStore()}).Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	call := func(t *testing.T, certs []tls.Certificate) error {
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: certs})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = adminv1.NewSecretServiceClient(conn).ListSecrets(t.Context(), &adminv1.ListSecretsRequest{})
		return err
	}
	load := func(t *testing.T, pk *pki, name string) []tls.Certificate {
		c, err := tls.LoadX509KeyPair(pk.path(name+".pem"), pk.path(name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	t.Run("client certificate replaces the token", func(t *testing.T) {
		if err := call(t, load(t, p, "client")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		if err := call(t, nil); err == nil {
			t.Fatal("a client without a certificate was served")
		}
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		if err := call(t, load(t, other, "stranger")); err == nil {
			t.Fatal("a client with an untrusted certificate was served")
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "server")
	p.write(t, "junk.pem", []byte("not pem"))
	tests := []struct {
		name, cert, key, ca, want string
	}{
		{"missing cert", "nope.pem", "server-key.pem", "ca.pem", "load the server certificate"},
		{"key mismatch", "server.pem", "ca-key.pem", "ca.pem", "the key matching the certificate"},
		{"missing client CA", "server.pem", "server-key.pem", "nope.pem", "read the client CA bundle"},
		{"client CA not PEM", "server.pem", "server-key.pem", "junk.pem", "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSConfig(p.path(tt.cert), p.path(tt.key), p.path(tt.ca))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
