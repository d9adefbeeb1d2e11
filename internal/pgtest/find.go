package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// serverTools must all sit in one bin directory: pg_ctl runs the postgres
// next to it, and pg_dump must match the server's major version.
var serverTools = []string{"initdb", "pg_ctl", "postgres"}

// ErrNotInstalled is returned (wrapped) when no PostgreSQL server binaries
// are found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin: install them with `apt-get install postgresql` (Debian package postgresql)")

// BinDir returns the directory holding initdb, pg_ctl and postgres: the one
// initdb in PATH resolves to (Debian links /usr/local/bin or a PATH entry
// there; its /usr/bin wrappers do not include initdb), else the newest
// /usr/lib/postgresql/<major>/bin.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if dir := filepath.Dir(p); hasServerTools(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, dir := range dirs {
		if hasServerTools(dir) {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func hasServerTools(dir string) bool {
	for _, tool := range serverTools {
		fi, err := os.Stat(filepath.Join(dir, tool))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// majorOf reads the major version from /usr/lib/postgresql/<major>/bin.
func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// tool returns the path of a PostgreSQL program in binDir.
func tool(binDir, name string) (string, error) {
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found next to the server in %s: install the matching client with `apt-get install postgresql-client`", name, binDir)
	}
	return p, nil
}

// lastLines keeps an error readable when it carries a server log.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
