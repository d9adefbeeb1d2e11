package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `atlas run` with ENVOY_BIN set runs exactly that binary: a wrapper that
// records its own invocation and then execs the real Envoy.
func TestEnvoyBinIsHonoured(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "invoked")
	wrapper := filepath.Join(dir, "my-envoy")
	script := fmt.Sprintf("#!/bin/sh\necho \"$0 $*\" > %q\nexec %q \"$@\"\n", marker, envoyBin)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	up := startRecorder(t)
	a := startAtlas(t, atlasConfig(adapter{name: "x", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()),
		headers: [][2]string{{"Authorization", "Bearer k-envoybin"}}}), map[string]string{"ENVOY_BIN": wrapper})
	a.waitStatus("/v1/apis/http/x/y", 200)
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("ENVOY_BIN=%s was not run: %v", wrapper, err)
	}
	if !strings.HasPrefix(string(got), wrapper+" -c ") {
		t.Errorf("wrapper invoked as %q", got)
	}
}
