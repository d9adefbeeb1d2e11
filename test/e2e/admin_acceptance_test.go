package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
)

// The acceptance check of issue 4: an adapter applied with mom through the
// admin API is served by Envoy, listed, exported, survives kill -9 of the
// embedded-store server, and is deleted again; a wrong token is refused;
// grpcurl sees the services and health through reflection.
func TestAdminAcceptance(t *testing.T) {
	const secret = "sk_test_ADMINaccept4242"
	const template = "Bearer ${{ secret:UP_KEY }}"
	up := startRecorder(t)
	upURL := fmt.Sprintf("http://127.0.0.1:%d", up.port())
	token := randomHex(t, 16)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := atlasConfig(adapter{name: "filed", baseURL: upURL, headers: [][2]string{{"X-Filed", "yes"}}})
	env := map[string]string{"ATLAS_ADMIN_TOKEN": token}

	a := startAtlasIn(t, dataDir, cfg, env)
	a.waitStatus("/v1/apis/http/filed/ready", 200)
	admin := a.adminAddr()

	out := mustMom(t, token, secret+"\n", "secrets", "set", "UP_KEY", "--admin", admin)
	if !strings.Contains(out, "UP_KEY created") || strings.Contains(out, secret) {
		t.Errorf("secrets set printed %q", out)
	}
	doc := writeTemp(t, "viaapi.yml", httpDoc("viaapi", upURL, [2]string{"Authorization", template}))
	if out := mustMom(t, token, "", "adapters", "apply", "-f", doc, "--admin", admin); !strings.Contains(out, `"viaapi" created`) {
		t.Errorf("adapters apply printed %q", out)
	}
	checkServed(t, a, up, "viaapi", "Bearer "+secret)

	// adapters list -o json: source API, the header as a template.
	var list adminv1.ListAdaptersResponse
	momJSON(t, token, &list, "adapters", "list", "--admin", admin)
	checkListed(t, &list, "viaapi", upURL, template)
	if raw := mustMom(t, token, "", "adapters", "list", "--admin", admin, "-o", "json"); strings.Contains(raw, secret) {
		t.Errorf("adapters list -o json shows the secret value:\n%s", raw)
	}

	// secrets list: the name and size, never the value.
	for _, o := range []string{"table", "json"} {
		out := mustMom(t, token, "", "secrets", "list", "--admin", admin, "-o", o)
		if !strings.Contains(out, "UP_KEY") || !strings.Contains(out, fmt.Sprint(len(secret))) || strings.Contains(out, secret) {
			t.Errorf("secrets list -o %s should show UP_KEY and its size, never the value:\n%s", o, out)
		}
	}

	// status: one Envoy, every type ACKed, in JSON and in the table.
	fleet := waitFleet(t, a, token, allAcked)
	if e := fleet.GetEnvoys()[0]; e.GetNodeId() != "atlas-managed" || e.GetCluster() != "atlas" || e.GetConnectedTime() == nil {
		t.Errorf("status: envoy %v, want node atlas-managed, cluster atlas, a connect time", e)
	}
	checkStatusTable(t, mustMom(t, token, "", "status", "--admin", admin))

	checkWrongToken(t, a, token)
	checkReflection(t, a)
	checkExport(t, mustMom(t, token, "", "config", "export", "--admin", admin), secret, template)

	// An acknowledged write right before kill -9 must survive it too.
	late := writeTemp(t, "late.yml", httpDoc("late", upURL))
	mustMom(t, token, "", "adapters", "apply", "-f", late, "--admin", admin)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	waitPortClosed(t, a.ingress, "the managed Envoy of the killed atlas")

	b := startAtlasIn(t, dataDir, cfg, env)
	checkServed(t, b, up, "viaapi", "Bearer "+secret)
	b.waitStatus("/v1/apis/http/late/x", 200)
	list.Reset()
	momJSON(t, token, &list, "adapters", "list", "--admin", b.adminAddr())
	checkListed(t, &list, "viaapi", upURL, template)
	checkListed(t, &list, "late", upURL, "")

	// Delete through mom: the route goes away.
	if out := mustMom(t, token, "", "adapters", "delete", "viaapi", "--admin", b.adminAddr()); !strings.Contains(out, `"viaapi" deleted`) {
		t.Errorf("adapters delete printed %q", out)
	}
	b.waitStatus("/v1/apis/http/viaapi/gone", 404)
	b.waitStatus("/v1/apis/http/filed/still", 200)
	list.Reset()
	momJSON(t, token, &list, "adapters", "list", "--admin", b.adminAddr())
	for _, ad := range list.GetAdapters() {
		if ad.GetName() == "viaapi" {
			t.Errorf("adapters list still shows the deleted adapter: %v", ad)
		}
	}
}

// checkServed waits until Envoy serves adapter name with the injected
// Authorization header wantAuth at the upstream. (That the very first 200
// already carries it is TestAdminNewAdapterNeverServedWithoutCredential's.)
func checkServed(t *testing.T, a *atlas, up *recorder, name, wantAuth string) {
	t.Helper()
	path := fmt.Sprintf("/v1/apis/http/%s/v1/things", name)
	deadline := time.Now().Add(20 * time.Second)
	var last recorded
	for time.Now().Before(deadline) {
		a.waitStatus(path, 200)
		reqs := up.requests()
		last = reqs[len(reqs)-1]
		if last.Path == "/v1/things" && last.Header.Get("Authorization") == wantAuth {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("upstream saw %s with Authorization %q; want /v1/things with %q", last.Path, last.Header.Get("Authorization"), wantAuth)
}

// checkListed finds name in list: an API adapter with baseURL and, when
// template is set, one Authorization header with that value template.
func checkListed(t *testing.T, list *adminv1.ListAdaptersResponse, name, baseURL, template string) {
	t.Helper()
	var sources []string
	for _, ad := range list.GetAdapters() {
		sources = append(sources, ad.GetName()+"="+ad.GetSource().String())
		if ad.GetName() == "filed" && ad.GetSource() != adminv1.AdapterSource_ADAPTER_SOURCE_FILE {
			t.Errorf("file adapter listed with source %v", ad.GetSource())
		}
		if ad.GetName() != name {
			continue
		}
		if ad.GetSource() != adminv1.AdapterSource_ADAPTER_SOURCE_API || ad.GetBaseUrl() != baseURL {
			t.Errorf("adapter %s listed as %v %s; want API %s", name, ad.GetSource(), ad.GetBaseUrl(), baseURL)
		}
		if template != "" {
			h := ad.GetHeaders()
			if len(h) != 1 || h[0].GetName() != "Authorization" || h[0].GetValueTemplate() != template {
				t.Errorf("adapter %s headers %v; want Authorization: %s", name, h, template)
			}
		}
		if ad.GetUpdateTime() == nil {
			t.Errorf("adapter %s has no update time", name)
		}
		return
	}
	t.Errorf("adapters list has no %s: %v", name, sources)
}

// checkStatusTable wants LDS, RDS and CDS rows in the ACK state and no NACK.
func checkStatusTable(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "NODE") || !strings.Contains(lines[0], "STATE") || strings.Contains(out, "NACK") {
		t.Fatalf("status table:\n%s", out)
	}
	acked := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) >= 7 && f[0] == "atlas-managed" && f[len(f)-1] == "ACK" {
			acked[f[3]] = true
		}
	}
	for _, typ := range []string{"LDS", "RDS", "CDS"} {
		if !acked[typ] {
			t.Errorf("status table has no ACKed %s row:\n%s", typ, out)
		}
	}
}

// checkWrongToken: mom and grpcurl with a wrong token are Unauthenticated,
// as is grpcurl without one; the log has the rejections, not the tokens.
func checkWrongToken(t *testing.T, a *atlas, token string) {
	t.Helper()
	wrong := "wrong-" + randomHex(t, 8)
	r := mom(t, wrong, "", "adapters", "list", "--admin", a.adminAddr())
	if r.code == 0 || !strings.Contains(r.stderr, "rejected the token") || !strings.Contains(r.stderr, "the admin token is wrong") || r.stdout != "" {
		t.Errorf("mom with a wrong token: want a non-zero exit and the Unauthenticated message; got %s", r)
	}
	for _, tok := range []string{wrong, ""} {
		if code, out := grpcCode(t, a, tok, "atlas.admin.v1.AdapterService/ListAdapters", "{}"); code != "Unauthenticated" {
			t.Errorf("ListAdapters with token %q: code %s, want Unauthenticated\n%s", tok, code, out)
		}
	}
	waitLog(t, a, `"msg":"admin request rejected"`, 3)
	if countLines(a.logs.String(), `"reason":"wrong token"`) < 2 || countLines(a.logs.String(), `"reason":"no token"`) < 1 {
		t.Errorf("rejections are logged without their reason:\n%s", a.logs.String())
	}
	if logs := a.logs.String(); strings.Contains(logs, wrong) || strings.Contains(logs, token) {
		t.Errorf("atlas's log contains an admin token")
	}
}

// checkReflection: grpcurl lists the admin services and health through
// reflection without a token, and health says SERVING.
func checkReflection(t *testing.T, a *atlas) {
	t.Helper()
	out, ok := grpcurl(t, a.adminAddr(), "list")
	for _, svc := range []string{"atlas.admin.v1.AdapterService", "atlas.admin.v1.SecretService", "atlas.admin.v1.FleetService", "atlas.admin.v1.ConfigService", "grpc.health.v1.Health"} {
		if !ok || !strings.Contains(out, svc+"\n") {
			t.Errorf("grpcurl list does not show %s:\n%s", svc, out)
		}
	}
	for _, svc := range []string{"", "atlas.admin.v1.AdapterService"} {
		out, ok := grpcurl(t, "-d", fmt.Sprintf(`{"service":%q}`, svc), a.adminAddr(), "grpc.health.v1.Health/Check")
		if !ok || !strings.Contains(out, `"status": "SERVING"`) {
			t.Errorf("health check of %q:\n%s", svc, out)
		}
	}
}

// checkExport: the export is an Atlas configuration holding the file's
// adapter and the API adapter (adapterRef and document), with the secret
// reference unexpanded; it parses with the store's secret available.
func checkExport(t *testing.T, out, secret, template string) {
	t.Helper()
	if strings.Contains(out, secret) || !strings.Contains(out, template) {
		t.Errorf("config export should hold %q and never the secret:\n%s", template, out)
	}
	if strings.Count(out, "name: viaapi") != 2 {
		t.Errorf("config export should name viaapi twice (adapterRef and document):\n%s", out)
	}
	cfg, err := config.Parse("export.yml", []byte(out), config.Options{
		LookupEnv:    func(string) (string, bool) { return "", false },
		LookupSecret: func(n string) (string, bool) { return secret, n == "UP_KEY" },
	})
	if err != nil {
		t.Fatalf("config export does not parse as an Atlas configuration: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, ad := range cfg.Adapters {
		got[ad.Name] = true
	}
	if len(got) != 2 || !got["filed"] || !got["viaapi"] {
		t.Errorf("exported configuration has adapters %v; want filed and viaapi", got)
	}
}

// waitPortClosed waits until nothing listens on port any more.
func waitPortClosed(t *testing.T, port int, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s still listens on %d 15s later", what, port)
}
