package mom

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

func TestAdminToken(t *testing.T) {
	f := startFakeAdmin(t)
	tests := []struct {
		name, env, file string // file is the token file's content; "" means no file
		code            int
		stderr          string // with TMP for the data dir
	}{
		{name: "from the environment", env: f.token, file: "stale-token\n"},
		{name: "from the token file", file: f.token + "\n"},
		{name: "wrong token in the environment", env: "not-the-token-42", code: 1,
			stderr: "mom: the Atlas admin API at ADDR rejected the token from $ATLAS_ADMIN_TOKEN (missing or wrong admin token); set it to the token the server runs with (its $ATLAS_ADMIN_TOKEN, or the content of its DATA_DIR/admin-token), or unset it to use TMP/admin-token\n"},
		{name: "wrong token in the file", file: "stale-token\n", code: 1,
			stderr: "mom: the Atlas admin API at ADDR rejected the token read from TMP/admin-token (missing or wrong admin token); that file belongs to another server or an earlier start: pass the server's --data-dir, or set $ATLAS_ADMIN_TOKEN to the token the server runs with\n"},
		{name: "no token anywhere", code: 1,
			stderr: "mom: no admin token: $ATLAS_ADMIN_TOKEN is not set and TMP/admin-token does not exist. The server writes that file on its first start (`bin/atlas run -f FILE --data-dir DIR`): pass the server's data directory with --data-dir, or set $ATLAS_ADMIN_TOKEN to the token the server runs with\n"},
		{name: "empty token file", file: "\n", code: 1, stderr: "TMP/admin-token is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				write(t, datadir.TokenFile(dir), tt.file)
			}
			t.Setenv(datadir.EnvAdminToken, tt.env)
			calls := f.callCount()
			code, stdout, stderr := runAdmin(t, "", "atlas", "adapters", "list", "--admin", f.addr, "--data-dir", dir)
			want := strings.NewReplacer("TMP/", dir+string(filepath.Separator), "ADDR", f.addr).Replace(tt.stderr)
			if code != tt.code || !strings.Contains(stderr, want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant:\n%s", code, tt.code, stdout, stderr, want)
			}
			if tt.code == 0 && f.callCount() != calls+1 {
				t.Errorf("the fake saw %d authenticated calls, want 1", f.callCount()-calls)
			}
			if tt.env != "" && strings.Contains(stderr, tt.env) {
				t.Errorf("stderr shows the token: %s", stderr)
			}
		})
	}
}

func TestAdminAddress(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()
	t.Setenv(datadir.EnvAdminToken, "any")

	t.Run("connection refused", func(t *testing.T) {
		t.Setenv(envAdminAddr, "")
		code, stdout, stderr := runAdmin(t, "", "atlas", "status", "--admin", closed)
		want := "mom: cannot reach the Atlas admin API at " + closed + " (connection refused); start the server with `bin/atlas run -f FILE` (admin port: spec.exposedPorts.adminPort, 9000) or pass --admin\n"
		if code != 1 || stdout != "" || stderr != want {
			t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
		}
	})
	t.Run("$ATLAS_ADMIN_ADDR is the default", func(t *testing.T) {
		f := startFakeAdmin(t)
		t.Setenv(datadir.EnvAdminToken, f.token)
		t.Setenv(envAdminAddr, f.addr)
		code, _, stderr := runAdmin(t, "", "atlas", "secrets", "list")
		mustOK(t, code, stderr)
		t.Setenv(envAdminAddr, closed)
		if code, _, stderr := runAdmin(t, "", "atlas", "secrets", "list", "--admin", f.addr); code != 0 {
			t.Errorf("--admin does not override $ATLAS_ADMIN_ADDR: %s", stderr)
		}
	})
}

func TestAdminUsage(t *testing.T) {
	f := startFakeAdmin(t) // the default address: a command that dials would reach it
	t.Setenv(envAdminAddr, f.addr)
	t.Setenv(datadir.EnvAdminToken, f.token)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"group alone", []string{"atlas", "adapters"}, 2, "mom atlas adapters: expected one of list, get, apply, delete, got nothing"},
		{"unknown subcommand", []string{"atlas", "secrets", "get"}, 2, `mom atlas secrets: expected one of set, list, delete, got "get"`},
		{"group help", []string{"atlas", "secrets", "--help"}, 0, "Usage: mom atlas secrets set|list|delete ..."},
		{"command help", []string{"atlas", "status", "--help"}, 0, "Usage: mom atlas status [--admin ADDR] [-o table|json]"},
		{"missing NAME", []string{"atlas", "adapters", "get"}, 2, "mom atlas adapters get: want NAME, got 0 arguments"},
		{"two NAMEs", []string{"atlas", "secrets", "delete", "A", "B"}, 2, "want NAME, got 2 arguments"},
		{"extra argument", []string{"atlas", "adapters", "list", "x"}, 2, `mom atlas adapters list: unexpected argument "x"`},
		{"bad output", []string{"atlas", "status", "-o", "yaml"}, 2, `-o must be table or json, not "yaml"`},
		{"apply without -f", []string{"atlas", "adapters", "apply"}, 2, "-f FILE is required"},
		{"no value flag for secrets", []string{"atlas", "secrets", "set", "K", "--value", "v"}, 2, "flag provided but not defined: -value"},
		{"cert without key", []string{"atlas", "status", "--tls-cert", "c.pem"}, 2, "--tls-cert and --tls-key go together"},
		{"export is the only config command here", []string{"atlas", "config", "import"}, 2, "expected the add-http-adapter command"},
		{"top-level help lists the admin commands", []string{"help"}, 0, "mom atlas secrets set NAME|list|delete NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runAdmin(t, "", tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant stderr containing %q", code, tt.code, stdout, stderr, tt.stderr)
			}
		})
	}
	if f.callCount() != 0 {
		t.Errorf("usage errors sent %d RPCs", f.callCount())
	}
}
