package admin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// pki is a CA and PEM files signed by it, in a temporary directory.
type pki struct {
	dir    string
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.ca, p.key = p.issue(t, "ca", nil, nil)
	return p
}

// issue writes NAME.pem and NAME-key.pem; a nil parent makes a CA.
func (p *pki) issue(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p.write(t, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	cert, _ := x509.ParseCertificate(der)
	return cert, key
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
	p.issue(t, "server", p.ca, p.key)
	p.issue(t, "client", p.ca, p.key)
	other := newPKI(t) // a CA the server does not trust
	other.issue(t, "stranger", other.ca, other.key)

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
	roots.AddCert(p.ca)
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
	p.issue(t, "server", p.ca, p.key)
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
