package main

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"                     // RDS resources, for -client full
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3" // SDS resources, for -client full
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// Full decoding (-client full): every response and resource with the
// generated protobuf code, as a Go xDS client would.

func fullObj(name string, a *anypb.Any, follow bool) (obj, error) {
	m, err := a.UnmarshalNew()
	if err != nil {
		return obj{}, fmt.Errorf("%s %s: %w", a.GetTypeUrl(), name, err)
	}
	if name == "" {
		if n, ok := m.(interface{ GetName() string }); ok {
			name = n.GetName()
		}
	}
	o := obj{name: name}
	if follow {
		switch m := m.(type) {
		case *listenerv3.Listener:
			o.refs, err = listenerRefs(m)
		case *clusterv3.Cluster:
			o.refs, err = clusterRefs(m)
		}
	}
	return o, err
}

func fullDelta(m *discoveryv3.DeltaDiscoveryResponse, follow bool) (*reply, error) {
	r := &reply{version: m.GetSystemVersionInfo(), typeURL: m.GetTypeUrl(), nonce: m.GetNonce(), removed: m.GetRemovedResources()}
	for _, res := range m.GetResources() {
		o, err := fullObj(res.GetName(), res.GetResource(), follow && follows(r.typeURL))
		if err != nil {
			return nil, err
		}
		r.objs = append(r.objs, o)
	}
	return r, nil
}

func fullSotW(m *discoveryv3.DiscoveryResponse, follow bool) (*reply, error) {
	r := &reply{version: m.GetVersionInfo(), typeURL: m.GetTypeUrl(), nonce: m.GetNonce()}
	for _, a := range m.GetResources() {
		o, err := fullObj("", a, follow && follows(r.typeURL))
		if err != nil {
			return nil, err
		}
		r.objs = append(r.objs, o)
	}
	return r, nil
}
