// Package testpki makes short-lived certificates for tests: a CA, and
// leaf certificates for 127.0.0.1 that it signs (TLS upstreams, mTLS).
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// CA is a self-signed certificate authority valid for an hour around now.
type CA struct {
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
	serial int64
}

// NewCA makes a CA whose subject is name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	ca := &CA{serial: 1}
	tmpl := template(name, 1)
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	der, key := create(t, tmpl, nil, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca.Cert, ca.Key = cert, key
	return ca
}

// PEM is the CA certificate in PEM.
func (ca *CA) PEM() []byte { return PEM(ca.Cert.Raw) }

// Issue signs a certificate for 127.0.0.1, for server and client auth, and
// returns it (DER) with its key.
func (ca *CA) Issue(t testing.TB, name string) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	ca.serial++
	tmpl := template(name, ca.serial)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	return create(t, tmpl, ca.Cert, ca.Key)
}

// PEM encodes a DER certificate.
func PEM(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// KeyPEM encodes an EC private key.
func KeyPEM(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func template(name string, serial int64) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
}

// create signs tmpl with parent (itself when parent is nil) and returns the
// DER certificate and the new key.
func create(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}
