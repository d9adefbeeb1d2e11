package admin

import (
	"context"
	"sort"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// fleetService is FleetService, read from Deps.Fleet.
type fleetService struct {
	adminv1.UnimplementedFleetServiceServer
	s *Server
}

func (f *fleetService) ListEnvoys(_ context.Context, _ *adminv1.ListEnvoysRequest) (*adminv1.ListEnvoysResponse, error) {
	var out []*adminv1.Envoy
	for _, n := range f.s.d.Fleet() {
		if n.Connected {
			out = append(out, envoyProto(n))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNodeId() < out[j].GetNodeId() })
	return &adminv1.ListEnvoysResponse{Envoys: out}, nil
}

func envoyProto(n xds.NodeStatus) *adminv1.Envoy {
	e := &adminv1.Envoy{NodeId: n.NodeID, Cluster: n.Cluster}
	if !n.ConnectedAt.IsZero() {
		e.ConnectedTime = timestamppb.New(n.ConnectedAt)
	}
	for typeURL, t := range n.Types {
		e.Resources = append(e.Resources, resourceProto(typeURL, t))
	}
	sort.Slice(e.Resources, func(i, j int) bool { return e.Resources[i].GetTypeUrl() < e.Resources[j].GetTypeUrl() })
	return e
}

// resourceProto maps one type's delivery state; the last NACK is kept
// after later ACKs.
func resourceProto(typeURL string, t xds.TypeStatus) *adminv1.ResourceStatus {
	r := &adminv1.ResourceStatus{
		TypeUrl:           typeURL,
		LastSentVersion:   t.SentVersion,
		LastAckedVersion:  t.AckedVersion,
		State:             adminv1.AckState_ACK_STATE_PENDING,
		LastNackedVersion: t.NackedVersion,
		LastNackMessage:   t.LastNackError,
	}
	if !t.SentAt.IsZero() {
		r.LastSentTime = timestamppb.New(t.SentAt)
	}
	if !t.NackedAt.IsZero() {
		r.LastNackTime = timestamppb.New(t.NackedAt)
	}
	switch {
	case t.NACK:
		r.State = adminv1.AckState_ACK_STATE_NACK
	case t.SentVersion != "" && t.AckedVersion == t.SentVersion:
		r.State = adminv1.AckState_ACK_STATE_ACK
	}
	return r
}
