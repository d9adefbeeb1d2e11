package admin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfig is the admin port's mutual TLS: the server presents
// certFile/keyFile and requires a client certificate signed by a CA in
// clientCAFile. A verified client certificate replaces the token.
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("admin TLS: load the server certificate %s and key %s: %w (both must be PEM, the key matching the certificate)", certFile, keyFile, err)
	}
	caPEM, err := os.ReadFile(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("admin TLS: read the client CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("admin TLS: client CA bundle %s holds no PEM certificate; give the CA that signs client certificates (-----BEGIN CERTIFICATE-----)", clientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
