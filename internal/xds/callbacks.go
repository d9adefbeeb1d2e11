package xds

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

// callbacks tracks both protocols: state-of-the-world streams here, delta
// (incremental) streams in delta.go.
func (s *Server) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamOpenFunc: func(ctx context.Context, id int64, typeURL string) error {
			s.log.Debug("xDS stream opened", "stream", id, "type", typeURL)
			return nil
		},
		StreamClosedFunc:  func(id int64, node *corev3.Node) { s.closed(streamKey{id: id}, node) },
		StreamRequestFunc: s.onRequest,
		StreamResponseFunc: func(_ context.Context, id int64, req *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			k := streamKey{id: id}
			s.fleet.sent(k, resp.GetTypeUrl(), resp.GetVersionInfo())
			s.obs.XDSPush(s.fleet.nodeOf(k), resp.GetTypeUrl())
		},
		DeltaStreamOpenFunc: s.onDeltaOpen,
		DeltaStreamClosedFunc: func(id int64, node *corev3.Node) {
			if ch := s.fleet.deltaChannel(id); ch != nil {
				for _, c := range s.caches {
					c.forget(ch)
				}
			}
			s.closed(streamKey{delta: true, id: id}, node)
		},
		StreamDeltaRequestFunc:  s.onDeltaRequest,
		StreamDeltaResponseFunc: s.onDeltaResponse,
	}
}

// bind records the node behind a stream (the node is only on a stream's
// first message with set_node_on_first_message_only).
func (s *Server) bind(k streamKey, n *corev3.Node) {
	if n.GetId() == "" {
		return
	}
	if s.fleet.openStream(k, n.GetId(), n.GetCluster()) {
		s.log.Info("Envoy connected", "stream", k.id, "delta", k.delta, "node", n.GetId(), "cluster", n.GetCluster())
		s.obs.EnvoyConnected(n.GetId(), s.connected())
	}
}

func (s *Server) closed(k streamKey, node *corev3.Node) {
	name := s.fleet.nodeOf(k)
	s.fleet.closeStream(k)
	s.log.Info("Envoy disconnected", "stream", k.id, "delta", k.delta, "node", node.GetId())
	if name != "" {
		s.obs.EnvoyDisconnected(name, s.connected())
	}
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

// onRequest records the node behind a SotW stream and classifies the
// request as a subscription, an ACK or a NACK.
func (s *Server) onRequest(id int64, req *discoveryv3.DiscoveryRequest) error {
	k := streamKey{id: id}
	s.bind(k, req.GetNode())
	if req.GetResponseNonce() == "" {
		return nil // initial subscription, not a reply to anything we sent
	}
	if d := req.GetErrorDetail(); d != nil {
		s.nackSeen.Add(1)
		node := s.fleet.nack(k, req.GetTypeUrl(), "", d.GetMessage())
		s.obs.XDSNack(node, req.GetTypeUrl())
		s.log.Error("Envoy rejected the configuration (NACK)",
			"node", node, "type", req.GetTypeUrl(), "rejected_nonce", req.GetResponseNonce(),
			"kept_version", req.GetVersionInfo(), "envoy_error", d.GetMessage())
		// The cache answers any SotW request whose version differs from
		// the cache's, so a NACK would get the same rejected config back at
		// once, forever. Mark the rejected version as seen: the next push
		// happens when there is a new Publish. (Delta needs no such thing:
		// see onDeltaRequest.)
		if sent := s.fleet.sentVersion(k, req.GetTypeUrl()); sent != "" {
			req.VersionInfo = sent
		}
		return nil
	}
	s.fleet.ack(k, req.GetTypeUrl(), req.GetVersionInfo(), req.GetResourceNames())
	s.obs.XDSAck(s.fleet.nodeOf(k), req.GetTypeUrl())
	return nil
}
