package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// Envoy rejects a listener it cannot bind: the ingress port is taken before
// atlas starts. `mom atlas status` shows the NACK of the Listener type with
// Envoy's own message, in the table and in JSON.
func TestAdminNACKShowsInStatus(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	up := startRecorder(t)
	cfg := strings.Replace(atlasConfig(adapter{name: "filed", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port())}),
		"INGRESS_PORT", fmt.Sprint(port), 1)
	token := randomHex(t, 16)
	a := startAtlas(t, cfg, map[string]string{"ATLAS_ADMIN_TOKEN": token})
	// Envoy's wording: "… cannot bind '127.0.0.1:PORT': Address already in use".
	bindErr := fmt.Sprintf("127.0.0.1:%d': Address already in use", port)

	var lds *adminv1.ResourceStatus
	fleet := waitFleet(t, a, token, func(r *adminv1.ListEnvoysResponse) bool {
		lds = nil
		for _, e := range r.GetEnvoys() {
			for _, res := range e.GetResources() {
				if strings.HasSuffix(res.GetTypeUrl(), ".Listener") && res.GetState() == adminv1.AckState_ACK_STATE_NACK {
					lds = res
				}
			}
		}
		return lds != nil
	})
	if len(fleet.GetEnvoys()) != 1 {
		t.Fatalf("status shows %d Envoys, want 1", len(fleet.GetEnvoys()))
	}
	if lds.GetTypeUrl() != "type.googleapis.com/envoy.config.listener.v3.Listener" {
		t.Errorf("NACKed type %q", lds.GetTypeUrl())
	}
	if !strings.Contains(lds.GetLastNackMessage(), bindErr) || !strings.Contains(lds.GetLastNackMessage(), "cannot bind") {
		t.Errorf("NACK message %q does not carry Envoy's %q", lds.GetLastNackMessage(), bindErr)
	}
	if lds.GetLastNackedVersion() == "" || lds.GetLastNackedVersion() != lds.GetLastSentVersion() || lds.GetLastNackTime() == nil {
		t.Errorf("NACK of version %q (sent %q, at %v): want the sent version, with a time", lds.GetLastNackedVersion(), lds.GetLastSentVersion(), lds.GetLastNackTime())
	}
	if lds.GetLastAckedVersion() == lds.GetLastSentVersion() {
		t.Errorf("the rejected version %q is also reported as acked", lds.GetLastSentVersion())
	}
	// Only the listener is rejected: clusters are accepted.
	for _, res := range fleet.GetEnvoys()[0].GetResources() {
		if strings.HasSuffix(res.GetTypeUrl(), ".Cluster") && res.GetState() != adminv1.AckState_ACK_STATE_ACK {
			t.Errorf("CDS state %v, want ACK", res.GetState())
		}
	}

	raw := mustMom(t, token, "", "status", "--admin", a.adminAddr(), "-o", "json")
	if !strings.Contains(raw, `"state": "ACK_STATE_NACK"`) || !strings.Contains(raw, `"lastNackMessage"`) {
		t.Errorf("status -o json lacks the NACK state or message:\n%s", raw)
	}

	table := mustMom(t, token, "", "status", "--admin", a.adminAddr())
	ldsRow := false
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) >= 7 && f[0] == "atlas-managed" && f[3] == "LDS" && f[len(f)-1] == "NACK" {
			ldsRow = true
		}
	}
	if !ldsRow || !strings.Contains(table, "Rejected by Envoy (NACK):") || !strings.Contains(table, bindErr) {
		t.Errorf("status table should have an LDS row in NACK and Envoy's message %q:\n%s", bindErr, table)
	}
}
