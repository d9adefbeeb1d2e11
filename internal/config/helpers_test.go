package config

import (
	"testing"

	"github.com/atlas-gateway/atlas/internal/testpki"
)

// testCAPEM returns a freshly generated self-signed CA certificate in PEM.
func testCAPEM(t testing.TB) []byte {
	t.Helper()
	return testpki.NewCA(t, "Atlas test CA").PEM()
}
