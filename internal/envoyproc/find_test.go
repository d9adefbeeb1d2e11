package envoyproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindPrefersFlagThenEnv(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagBin, envBin := exe("flag-envoy"), exe("env-envoy")
	t.Setenv("ENVOY_BIN", envBin)
	if got, err := Find(flagBin); err != nil || got != flagBin {
		t.Errorf("Find(flag) = %q, %v; want the flag's binary", got, err)
	}
	if got, err := Find(""); err != nil || got != envBin {
		t.Errorf("Find() with ENVOY_BIN = %q, %v; want ENVOY_BIN", got, err)
	}
	// A wrong ENVOY_BIN is an error, never a silent fallback to another Envoy.
	t.Setenv("ENVOY_BIN", filepath.Join(dir, "missing"))
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "ENVOY_BIN") {
		t.Errorf("Find() with a missing ENVOY_BIN = %v, want an error naming ENVOY_BIN", err)
	}
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(notExec); err == nil {
		t.Error("Find accepted a non-executable file")
	}
}
