package xds

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

func (s *Server) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamOpenFunc: func(ctx context.Context, id int64, typeURL string) error {
			s.log.Debug("xDS stream opened", "stream", id, "type", typeURL)
			return nil
		},
		StreamClosedFunc: func(id int64, node *corev3.Node) {
			name := s.nodeOf(id)
			s.fleet.closeStream(id)
			s.log.Info("Envoy disconnected", "stream", id, "node", node.GetId())
			if name != "" {
				s.obs.EnvoyDisconnected(name, s.connected())
			}
		},
		StreamRequestFunc: s.onRequest,
		StreamResponseFunc: func(_ context.Context, id int64, req *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			s.fleet.sent(id, resp.GetTypeUrl(), resp.GetVersionInfo())
			s.obs.XDSPush(s.nodeOf(id), resp.GetTypeUrl())
		},
	}
}

// nodeOf is the node id bound to a stream ("" before its first request).
func (s *Server) nodeOf(id int64) string {
	s.fleet.mu.Lock()
	defer s.fleet.mu.Unlock()
	return s.fleet.streams[id]
}

// connected counts the Envoys with an open stream, as Fleet reports them.
func (s *Server) connected() int {
	n := 0
	for _, st := range s.fleet.snapshot() {
		if st.Connected {
			n++
		}
	}
	return n
}

// onRequest records the node behind a stream and classifies the request as a
// subscription, an ACK or a NACK.
func (s *Server) onRequest(id int64, req *discoveryv3.DiscoveryRequest) error {
	if n := req.GetNode(); n != nil && n.GetId() != "" {
		if s.fleet.openStream(id, n.GetId(), n.GetCluster()) {
			s.log.Info("Envoy connected", "stream", id, "node", n.GetId(), "cluster", n.GetCluster())
			s.obs.EnvoyConnected(n.GetId(), s.connected())
		}
	}
	if req.GetResponseNonce() == "" {
		return nil // initial subscription, not a reply to anything we sent
	}
	if d := req.GetErrorDetail(); d != nil {
		s.nackSeen.Add(1)
		node := s.fleet.nack(id, req.GetTypeUrl(), d.GetMessage())
		s.obs.XDSNack(node, req.GetTypeUrl())
		s.log.Error("Envoy rejected the configuration (NACK)",
			"node", node, "type", req.GetTypeUrl(), "rejected_nonce", req.GetResponseNonce(),
			"kept_version", req.GetVersionInfo(), "envoy_error", d.GetMessage())
		// The cache answers any request whose version differs from the
		// snapshot's, so a NACK would get the same rejected config back at
		// once, forever. Mark the rejected version as seen: the next push
		// happens when there is a new snapshot.
		if sent := s.fleet.sentVersion(id, req.GetTypeUrl()); sent != "" {
			req.VersionInfo = sent
		}
		return nil
	}
	s.fleet.ack(id, req.GetTypeUrl(), req.GetVersionInfo(), req.GetResourceNames())
	s.obs.XDSAck(s.nodeOf(id), req.GetTypeUrl())
	return nil
}
