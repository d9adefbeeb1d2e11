package admin

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/xds"
)

const (
	cdsURL = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	ldsURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	rdsURL = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

func TestListEnvoys(t *testing.T) {
	connected := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	fleet := []xds.NodeStatus{
		{NodeID: "envoy-b", Cluster: "edge", ConnectedAt: connected, Connected: true, Types: map[string]xds.TypeStatus{
			ldsURL: {SentVersion: "v2", AckedVersion: "v2"},
			cdsURL: {SentVersion: "v3", AckedVersion: "v2", NACK: true, Error: "cluster stripe: invalid TLS context", NackedVersion: "v3", LastNackError: "cluster stripe: invalid TLS context"},
			rdsURL: {SentVersion: "v3", AckedVersion: "v2"},
		}},
		{NodeID: "envoy-a", Cluster: "edge", ConnectedAt: connected, Connected: true, Types: map[string]xds.TypeStatus{
			cdsURL: {},
		}},
		{NodeID: "envoy-gone", Cluster: "edge", ConnectedAt: connected, Connected: false},
	}
	e := newEnv(t, func(d *Deps) { d.Fleet = func() []xds.NodeStatus { return fleet } })
	resp, err := adminv1.NewFleetServiceClient(e.conn).ListEnvoys(t.Context(), &adminv1.ListEnvoysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts := timestamppb.New(connected)
	diffProto(t, resp, &adminv1.ListEnvoysResponse{Envoys: []*adminv1.Envoy{
		{NodeId: "envoy-a", Cluster: "edge", ConnectedTime: ts, Resources: []*adminv1.ResourceStatus{
			{TypeUrl: cdsURL, State: adminv1.AckState_ACK_STATE_PENDING},
		}},
		{NodeId: "envoy-b", Cluster: "edge", ConnectedTime: ts, Resources: []*adminv1.ResourceStatus{
			{TypeUrl: cdsURL, LastSentVersion: "v3", LastAckedVersion: "v2", State: adminv1.AckState_ACK_STATE_NACK,
				LastNackedVersion: "v3", LastNackMessage: "cluster stripe: invalid TLS context"},
			{TypeUrl: ldsURL, LastSentVersion: "v2", LastAckedVersion: "v2", State: adminv1.AckState_ACK_STATE_ACK},
			{TypeUrl: rdsURL, LastSentVersion: "v3", LastAckedVersion: "v2", State: adminv1.AckState_ACK_STATE_PENDING},
		}},
	}})
}
