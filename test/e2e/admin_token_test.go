package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without $ATLAS_ADMIN_TOKEN the server generates a token into a 0600 file
// in its data directory, and mom reads it from there with --data-dir.
func TestAdminGeneratedToken(t *testing.T) {
	up := startRecorder(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	a := startAtlasIn(t, dataDir, atlasConfig(adapter{name: "filed", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port())}),
		map[string]string{"ATLAS_ADMIN_TOKEN": ""})
	a.waitStatus("/v1/apis/http/filed/ready", 200)
	waitLog(t, a, "generated an admin API token", 1)

	file := filepath.Join(dataDir, "admin-token")
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", file, info.Mode().Perm())
	}
	token, _ := os.ReadFile(file)
	if len(strings.TrimSpace(string(token))) < 32 {
		t.Errorf("generated token %d bytes long; want at least 32", len(strings.TrimSpace(string(token))))
	}
	if strings.Contains(a.logs.String(), strings.TrimSpace(string(token))) {
		t.Errorf("atlas logged the generated token")
	}

	out := mustMom(t, "", "", "adapters", "list", "--admin", a.adminAddr(), "--data-dir", dataDir)
	if !strings.Contains(out, "filed") {
		t.Errorf("adapters list with the token file:\n%s", out)
	}
	// Another data directory has no token: mom says where it looked.
	other := t.TempDir()
	r := mom(t, "", "", "adapters", "list", "--admin", a.adminAddr(), "--data-dir", other)
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(other, "admin-token")+" does not exist") {
		t.Errorf("mom without a token: %s", r)
	}
	// A token file of another server is rejected, naming that file.
	if err := os.WriteFile(filepath.Join(other, "admin-token"), []byte("stale-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mom(t, "", "", "adapters", "list", "--admin", a.adminAddr(), "--data-dir", other)
	if r.code != 1 || !strings.Contains(r.stderr, "rejected the token read from "+filepath.Join(other, "admin-token")) {
		t.Errorf("mom with a stale token file: %s", r)
	}

	// A restart with the same data directory keeps the token.
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	b := startAtlasIn(t, dataDir, atlasConfig(adapter{name: "filed", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port())}),
		map[string]string{"ATLAS_ADMIN_TOKEN": ""})
	b.waitStatus("/v1/apis/http/filed/ready", 200)
	if again, _ := os.ReadFile(file); string(again) != string(token) {
		t.Errorf("the token file changed across a restart")
	}
	mustMom(t, "", "", "status", "--admin", b.adminAddr(), "--data-dir", dataDir)
}

// A token given with surrounding whitespace (a Kubernetes secret file often
// ends in a newline) still authenticates: mom trims what it sends, so the
// server must compare against the trimmed token too.
func TestAdminTokenWithTrailingNewline(t *testing.T) {
	up := startRecorder(t)
	token := randomHex(t, 16) + "\n"
	a := startAtlas(t, atlasConfig(adapter{name: "filed", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port())}),
		map[string]string{"ATLAS_ADMIN_TOKEN": token})
	a.waitStatus("/v1/apis/http/filed/ready", 200)
	if r := mom(t, token, "", "adapters", "list", "--admin", a.adminAddr()); r.code != 0 {
		t.Errorf("mom with the server's own $ATLAS_ADMIN_TOKEN (ending in a newline) is refused: %s", r)
	}
	if code, out := grpcCode(t, a, strings.TrimSpace(token), "atlas.admin.v1.AdapterService/ListAdapters", "{}"); code != "OK" {
		t.Errorf("grpcurl with the trimmed token: %s\n%s", code, out)
	}
}
