package mom

import (
	"context"
	"fmt"
	"strings"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func fleetStatus(ctx context.Context, s *adminSession, _ []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.fleet.ListEnvoys(ctx, &adminv1.ListEnvoysRequest{})
	if err != nil {
		return s.rpcError("list connected Envoys", err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	if len(resp.GetEnvoys()) == 0 {
		_, err := fmt.Fprintf(s.stdout, "No Envoy is connected to the Atlas replica at %s. (Each Envoy connects to one replica; with several, ask each.)\n", s.opts.addr)
		return err
	}
	var rows [][]string
	var nacks []string
	for _, e := range resp.GetEnvoys() {
		row := []string{e.GetNodeId(), orDash(e.GetCluster()), age(e.GetConnectedTime())}
		if len(e.GetResources()) == 0 {
			rows = append(rows, append(row, "-", "-", "-", "PENDING"))
		}
		for _, r := range e.GetResources() {
			typ := xdsType(r.GetTypeUrl())
			rows = append(rows, append(row, typ, orDash(r.GetLastSentVersion()), orDash(r.GetLastAckedVersion()), ackState(r.GetState())))
			if r.GetLastNackMessage() != "" {
				nacks = append(nacks, nackLine(e.GetNodeId(), typ, r))
			}
		}
	}
	if err := table(s.stdout, "NODE\tCLUSTER\tCONNECTED\tTYPE\tSENT\tACKED\tSTATE", rows); err != nil {
		return err
	}
	if len(nacks) > 0 {
		_, err = fmt.Fprintf(s.stdout, "\nRejected by Envoy (NACK):\n%s", strings.Join(nacks, ""))
	}
	return err
}

// nackLine describes the last rejection of one resource type; Envoy's
// message may span lines, which are indented.
func nackLine(node, typ string, r *adminv1.ResourceStatus) string {
	when := "now"
	if r.GetState() != adminv1.AckState_ACK_STATE_NACK {
		when = "earlier; a later version was accepted"
	}
	msg := strings.ReplaceAll(strings.TrimRight(r.GetLastNackMessage(), "\n"), "\n", "\n    ")
	return fmt.Sprintf("  %s %s version %s (%s, %s ago):\n    %s\n", node, typ, orDash(r.GetLastNackedVersion()), when, age(r.GetLastNackTime()), msg)
}

// xdsType abbreviates a type URL to its xDS service name (CDS, LDS, …).
func xdsType(typeURL string) string {
	name := typeURL[strings.LastIndex(typeURL, ".")+1:]
	switch name {
	case "Cluster":
		return "CDS"
	case "Listener":
		return "LDS"
	case "RouteConfiguration":
		return "RDS"
	case "ClusterLoadAssignment":
		return "EDS"
	case "Secret":
		return "SDS"
	case "ScopedRouteConfiguration":
		return "SRDS"
	case "VirtualHost":
		return "VHDS"
	case "Runtime":
		return "RTDS"
	}
	return orDash(name)
}

func ackState(st adminv1.AckState) string {
	switch st {
	case adminv1.AckState_ACK_STATE_ACK:
		return "ACK"
	case adminv1.AckState_ACK_STATE_NACK:
		return "NACK"
	case adminv1.AckState_ACK_STATE_PENDING:
		return "PENDING"
	}
	return "-"
}

func exportConfig(ctx context.Context, s *adminSession, _ []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.config.ExportConfig(ctx, &adminv1.ExportConfigRequest{})
	if err != nil {
		return s.rpcError("export the configuration", err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	y := resp.GetYaml()
	if _, err := s.stdout.Write(y); err != nil {
		return err
	}
	if len(y) > 0 && y[len(y)-1] != '\n' {
		_, err = fmt.Fprintln(s.stdout)
	}
	return err
}
