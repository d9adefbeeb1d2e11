package xds

import (
	"context"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"
)

// Delta (incremental) xDS: a response carries only the resources that
// changed and the names removed, and Envoy ACKs or NACKs each response by
// its nonce. go-control-plane's delta server (v0.14.0) calls these
// callbacks from the stream's one goroutine, and sets a response's nonce
// (a per-stream counter, "1", "2", ...) before OnStreamDeltaResponse, so a
// response is always recorded before the request answering it is seen.
//
// No NACK-loop workaround is needed here, unlike SotW: the delta server
// ignores error_detail, and when it sends a response it records the sent
// resources' versions as known to the stream, so the request carrying the
// NACK finds nothing changed and gets no answer. The rejected resources are
// sent again only when they change.

func (s *Server) onDeltaOpen(_ context.Context, id int64, typeURL string) error {
	s.fleet.mu.Lock()
	s.fleet.deltas[id] = &deltaStream{defaultType: typeURL, types: map[string]*deltaType{}}
	s.fleet.mu.Unlock()
	s.log.Debug("delta xDS stream opened", "stream", id, "type", typeURL)
	return nil
}

func (s *Server) onDeltaResponse(id int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
	k := streamKey{delta: true, id: id}
	f := s.fleet
	f.mu.Lock()
	if d := f.deltas[id]; d != nil {
		d.typ(resp.GetTypeUrl(), nil, nil).sent(resp)
	}
	node := f.update(k, resp.GetTypeUrl(), func(t *TypeStatus) { t.SentVersion, t.SentAt = resp.GetSystemVersionInfo(), time.Now() })
	f.mu.Unlock()
	s.obs.XDSPush(node, resp.GetTypeUrl())
}

// onDeltaRequest binds the node on a stream's first request, records a
// reply to an earlier response (a request with a response_nonce is an ACK
// of it, or with error_detail a NACK), then applies the request's
// subscription changes.
func (s *Server) onDeltaRequest(id int64, req *discoveryv3.DeltaDiscoveryRequest) error {
	k := streamKey{delta: true, id: id}
	s.bind(k, req.GetNode())
	f := s.fleet
	f.mu.Lock()
	d := f.deltas[id]
	if d != nil && d.ch == nil { // the caches are given req next
		delete(f.unbound, d.req)
		f.unbound[req], d.req = id, req
	}
	f.mu.Unlock()
	if d == nil { // not opened through onDeltaOpen: nothing to track
		return nil
	}
	typeURL := req.GetTypeUrl()
	if typeURL == "" {
		typeURL = d.defaultType // a non-ADS stream (SDS) may leave it out
	}
	var current map[string]uint64
	if iv := req.GetInitialResourceVersions(); len(iv) > 0 &&
		!stream.NewDeltaSubscription(req.GetResourceNamesSubscribe(), req.GetResourceNamesUnsubscribe(), nil, true).IsWildcard() {
		// A reconnecting Envoy names what it holds; only a subscription by
		// name needs to know which of those are current (see wait.go).
		current = s.names.current(typeURL, iv)
	}
	f.mu.Lock()
	_, seen := d.types[typeURL]
	t := d.typ(typeURL, req, current)
	var p pendingResponse
	var answered bool
	if req.GetResponseNonce() != "" {
		p, answered = t.answer(req.GetResponseNonce())
		if answered && req.GetErrorDetail() == nil {
			t.apply(p)
		}
	}
	t.subscribe(req, !seen)
	node := f.update(k, typeURL, func(ts *TypeStatus) {
		ts.Delta, ts.sub, ts.AckedNames = true, t.view(), t.held
		switch {
		case req.GetResponseNonce() == "":
		case req.GetErrorDetail() != nil:
			ts.nacked(p.version, req.GetErrorDetail().GetMessage())
		case answered:
			ts.AckedVersion, ts.AckedAt, ts.NACK, ts.Error = p.version, time.Now(), false, ""
		}
	})
	f.mu.Unlock()

	switch {
	case req.GetResponseNonce() == "":
		// a subscription (change), not a reply to anything we sent
	case req.GetErrorDetail() != nil:
		msg := req.GetErrorDetail().GetMessage()
		s.nackSeen.Add(1)
		s.obs.XDSNack(node, typeURL)
		s.log.Error("Envoy rejected the configuration (NACK)",
			"node", node, "type", typeURL, "rejected_nonce", req.GetResponseNonce(),
			"rejected_version", p.version, "delta", true, "envoy_error", msg)
	default:
		if !answered {
			s.log.Debug("delta ACK of a response no longer tracked", "node", node, "type", typeURL, "nonce", req.GetResponseNonce())
		}
		s.obs.XDSAck(node, typeURL)
	}
	return nil
}

// watchOpened is fleetCache's onWatch: it binds a stream to its response
// channel on the stream's first request.
func (f *fleet) watchOpened(req *discoveryv3.DeltaDiscoveryRequest, ch chan cachev3.DeltaResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.unbound[req]
	if !ok {
		return
	}
	delete(f.unbound, req)
	if d := f.deltas[id]; d != nil {
		d.ch, d.req = ch, nil
	}
}

// deltaChannel is the response channel of a delta stream (nil if unknown).
func (f *fleet) deltaChannel(id int64) chan cachev3.DeltaResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.deltas[id]; d != nil {
		return d.ch
	}
	return nil
}
