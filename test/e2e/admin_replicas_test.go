package e2e

import (
	"fmt"
	"strings"
	"testing"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/pgtest"
)

// Two atlas replicas on one PostgreSQL, each with its own managed Envoy and
// data directory and the same master key: a secret and an adapter created
// through replica A are served by replica B's Envoy with the secret
// injected; a delete through B stops A's Envoy serving it.
func TestAdminReplicasSharePostgres(t *testing.T) {
	const secret = "sk_test_REPLICAshared77"
	dsn := pgtest.Start(t)
	up := startRecorder(t)
	upURL := fmt.Sprintf("http://127.0.0.1:%d", up.port())
	token := randomHex(t, 16)
	env := map[string]string{"ATLAS_ADMIN_TOKEN": token, "ATLAS_MASTER_KEY": randomHex(t, 32)}
	cfg := atlasConfig(adapter{name: "filed", baseURL: upURL})

	a := startAtlas(t, cfg, env, "--store", dsn, "--node-id", "envoy-a")
	b := startAtlas(t, cfg, env, "--store", dsn, "--node-id", "envoy-b")
	for _, r := range []*atlas{a, b} {
		r.waitStatus("/v1/apis/http/filed/ready", 200)
		waitLog(t, r, `"store":"postgres postgres://`, 1)
	}

	mustMom(t, token, secret, "secrets", "set", "SHARED_KEY", "--admin", a.adminAddr())
	doc := writeTemp(t, "shared.yml", httpDoc("shared", upURL, [2]string{"Authorization", "Bearer ${{ secret:SHARED_KEY }}"}))
	mustMom(t, token, "", "adapters", "apply", "-f", doc, "--admin", a.adminAddr())

	// B never got an RPC: its Envoy serves the adapter with the secret that
	// B decrypted from the shared store.
	checkServed(t, b, up, "shared", "Bearer "+secret)
	checkServed(t, a, up, "shared", "Bearer "+secret)
	var list adminv1.ListAdaptersResponse
	momJSON(t, token, &list, "adapters", "list", "--admin", b.adminAddr())
	checkListed(t, &list, "shared", upURL, "Bearer ${{ secret:SHARED_KEY }}")
	if out := mustMom(t, token, "", "secrets", "list", "--admin", b.adminAddr()); !strings.Contains(out, "SHARED_KEY") {
		t.Errorf("replica B does not list the secret set through A:\n%s", out)
	}

	// Each replica's status shows its own Envoy only, all ACKed.
	for _, r := range []struct {
		a    *atlas
		node string
	}{{a, "envoy-a"}, {b, "envoy-b"}} {
		fleet := waitFleet(t, r.a, token, allAcked)
		if got := fleet.GetEnvoys()[0].GetNodeId(); got != r.node {
			t.Errorf("replica of %s reports Envoy %q", r.node, got)
		}
	}

	// The secret is in use everywhere: neither replica lets it be deleted.
	if r := mom(t, token, "", "secrets", "delete", "SHARED_KEY", "--admin", b.adminAddr()); r.code != 1 || !strings.Contains(r.stderr, `API adapter "shared"`) {
		t.Errorf("secrets delete of a referenced secret through B: %s", r)
	}

	mustMom(t, token, "", "adapters", "delete", "shared", "--admin", b.adminAddr())
	a.waitStatus("/v1/apis/http/shared/gone", 404)
	b.waitStatus("/v1/apis/http/shared/gone", 404)
	a.waitStatus("/v1/apis/http/filed/still", 200)
	if r := mom(t, token, "", "adapters", "get", "shared", "--admin", a.adminAddr()); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("adapters get through A after the delete through B: %s", r)
	}
	// Now unreferenced, the secret can go, through A.
	mustMom(t, token, "", "secrets", "delete", "SHARED_KEY", "--admin", a.adminAddr())
	if out := mustMom(t, token, "", "secrets", "list", "--admin", b.adminAddr()); strings.Contains(out, "SHARED_KEY") {
		t.Errorf("replica B still lists the secret deleted through A:\n%s", out)
	}
	for _, r := range []*atlas{a, b} {
		if strings.Contains(r.logs.String(), secret) {
			t.Errorf("a replica's log contains the secret value")
		}
	}
}
