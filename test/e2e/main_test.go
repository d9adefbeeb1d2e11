package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/atlas-gateway/atlas/internal/envoyproc"
)

var (
	atlasBin      string // built from this tree by TestMain
	envoyBin      string
	stripeMockBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "atlas-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	atlasBin = filepath.Join(dir, "atlas")
	build := exec.Command("go", "build", "-o", atlasBin, "github.com/atlas-gateway/atlas/cmd/atlas")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building bin/atlas:", err)
		return 1
	}
	if envoyBin, err = envoyproc.Find(""); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	if stripeMockBin, err = findStripeMock(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	return m.Run()
}

func findStripeMock() (string, error) {
	if p := os.Getenv("STRIPE_MOCK_BIN"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	p, _ := filepath.Abs("../../.tools/bin/stripe-mock")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("stripe-mock not found: run `make stripe-mock` (or `make test`, which installs it), or set STRIPE_MOCK_BIN")
}
