package mom

import (
	"strings"
	"testing"
	"time"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func TestAdminStatus(t *testing.T) {
	f := startFakeAdmin(t)
	code, stdout, stderr := f.run(t, "", "atlas", "status")
	mustOK(t, code, stderr)
	if want := "No Envoy is connected to the Atlas replica at " + f.addr; !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout %q, want prefix %q", stdout, want)
	}

	const typ = "type.googleapis.com/envoy.config."
	f.envoys = []*adminv1.Envoy{
		{NodeId: "envoy-a", Cluster: "edge", ConnectedTime: ago(5*time.Minute + 30*time.Second), Resources: []*adminv1.ResourceStatus{
			{TypeUrl: typ + "cluster.v3.Cluster", LastSentVersion: "3", LastAckedVersion: "3", State: adminv1.AckState_ACK_STATE_ACK,
				LastNackedVersion: "2", LastNackMessage: "old problem", LastNackTime: ago(2 * time.Hour)},
			{TypeUrl: typ + "listener.v3.Listener", LastSentVersion: "4", LastAckedVersion: "3", State: adminv1.AckState_ACK_STATE_NACK,
				LastNackedVersion: "4", LastNackMessage: "Error adding/updating listener(s) ingress:\nunknown filter", LastNackTime: ago(20 * time.Second)},
		}},
		{NodeId: "envoy-b", ConnectedTime: ago(10 * time.Second)},
	}
	code, stdout, stderr = f.run(t, "", "atlas", "status")
	mustOK(t, code, stderr)
	table, nacks, _ := strings.Cut(stdout, "\n\n")
	wantFields(t, table, [][]string{
		{"NODE", "CLUSTER", "CONNECTED", "TYPE", "SENT", "ACKED", "STATE"},
		{"envoy-a", "edge", "5m", "CDS", "3", "3", "ACK"},
		{"envoy-a", "edge", "5m", "LDS", "4", "3", "NACK"},
		{"envoy-b", "-", "10s", "-", "-", "-", "PENDING"},
	})
	wantNacks := `Rejected by Envoy (NACK):
  envoy-a CDS version 2 (earlier; a later version was accepted, 2h0m ago):
    old problem
  envoy-a LDS version 4 (now, 20s ago):
    Error adding/updating listener(s) ingress:
    unknown filter
`
	if nacks != wantNacks {
		t.Errorf("NACK section:\n%s\nwant:\n%s", nacks, wantNacks)
	}

	code, stdout, stderr = f.run(t, "", "atlas", "status", "-o", "json")
	mustOK(t, code, stderr)
	var got adminv1.ListEnvoysResponse
	decode(t, stdout, &got)
	protoDiff(t, &adminv1.ListEnvoysResponse{Envoys: f.envoys}, &got)
}

func TestAdminConfigExport(t *testing.T) {
	f := startFakeAdmin(t)
	f.yaml = []byte("apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\n---\nkind: HTTP") // no final newline
	code, stdout, stderr := f.run(t, "", "atlas", "config", "export")
	mustOK(t, code, stderr)
	if stdout != string(f.yaml)+"\n" {
		t.Errorf("stdout %q", stdout)
	}
	code, stdout, stderr = f.run(t, "", "atlas", "config", "export", "-o", "json")
	mustOK(t, code, stderr)
	var got adminv1.ExportConfigResponse
	decode(t, stdout, &got)
	protoDiff(t, &adminv1.ExportConfigResponse{Yaml: f.yaml}, &got)
}
