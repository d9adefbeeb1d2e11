package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	credv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The ADS client below behaves like Envoy on the wire (SotW, one stream per
// node): it subscribes to CDS and LDS (wildcard), then, from each listener it
// receives, to the RDS route configuration and the SDS secrets the listener
// names (sdsNamed) — or to all four types as wildcards (sdsWildcard) — and
// ACKs every response with the version and nonce it got.
//
// clientLight decodes only the DiscoveryResponse envelope (version, type,
// nonce, resource count, and the listener's bytes) so that 200 in-process
// clients spend as little of the shared CPU as possible; clientFull decodes
// every response with the generated protobuf code, as a Go xDS client would.

const (
	clientLight = "light"
	clientFull  = "full"
	sdsNamed    = "named"
	sdsWildcard = "wildcard"
)

// response is the part of a DiscoveryResponse the client needs.
type response struct {
	Version, TypeURL, Nonce string
	Count                   int
	Listener                *anypb.Any // first resource, only for LDS
}

// lightCodec marshals requests with protobuf and decodes responses by
// scanning the top-level fields without materializing the message.
type lightCodec struct{}

func (lightCodec) Name() string { return "proto" }

func (lightCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (lightCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*response)
	if !ok {
		return fmt.Errorf("lightCodec: cannot decode into %T", v)
	}
	c := cursor{}
	for _, b := range data {
		if d := b.ReadOnlyData(); len(d) > 0 {
			c.bufs = append(c.bufs, d)
		}
	}
	var first cursor // where the first resource starts; copied only for LDS
	firstLen := -1
	for !c.eof() {
		tag, err := c.varint()
		if err != nil {
			return err
		}
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		switch typ {
		case protowire.VarintType:
			if _, err := c.varint(); err != nil {
				return err
			}
		case protowire.Fixed32Type:
			if err := c.skip(4); err != nil {
				return err
			}
		case protowire.Fixed64Type:
			if err := c.skip(8); err != nil {
				return err
			}
		case protowire.BytesType:
			n, err := c.varint()
			if err != nil {
				return err
			}
			switch num {
			case 1, 4, 5: // version_info, type_url, nonce
				b, err := c.read(int(n))
				if err != nil {
					return err
				}
				switch num {
				case 1:
					r.Version = string(b)
				case 4:
					r.TypeURL = string(b)
				case 5:
					r.Nonce = string(b)
				}
			case 2: // resources
				r.Count++
				if r.Count == 1 {
					first, firstLen = c, int(n)
				}
				if err := c.skip(int(n)); err != nil {
					return err
				}
			default:
				if err := c.skip(int(n)); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("lightCodec: unexpected wire type %d", typ)
		}
	}
	if r.TypeURL == resource.ListenerType && firstLen >= 0 {
		b, err := first.read(firstLen)
		if err != nil {
			return err
		}
		r.Listener = &anypb.Any{}
		if err := proto.Unmarshal(b, r.Listener); err != nil {
			return err
		}
	}
	return nil
}

var _ encoding.CodecV2 = lightCodec{}

// cursor reads protobuf wire data spread over several buffers.
type cursor struct {
	bufs [][]byte
	i    int
	off  int
}

func (c *cursor) eof() bool {
	for c.i < len(c.bufs) && c.off >= len(c.bufs[c.i]) {
		c.i++
		c.off = 0
	}
	return c.i >= len(c.bufs)
}

var errShort = errors.New("lightCodec: truncated message")

func (c *cursor) byte() (byte, error) {
	if c.eof() {
		return 0, errShort
	}
	b := c.bufs[c.i][c.off]
	c.off++
	return b, nil
}

func (c *cursor) varint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := c.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("lightCodec: bad varint")
}

func (c *cursor) skip(n int) error {
	for n > 0 {
		if c.eof() {
			return errShort
		}
		k := min(n, len(c.bufs[c.i])-c.off)
		c.off += k
		n -= k
	}
	return nil
}

func (c *cursor) read(n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		if c.eof() {
			return nil, errShort
		}
		k := min(n-len(out), len(c.bufs[c.i])-c.off)
		out = append(out, c.bufs[c.i][c.off:c.off+k]...)
		c.off += k
	}
	return out, nil
}

// listenerRefs are the RDS and SDS names a listener subscribes to. Every
// client receives byte-identical listeners for a version, so the (costly)
// decode is done once per version and shared: 200 real Envoys would each
// do it on their own CPU, not on the control plane's.
type listenerRefs struct {
	once    sync.Once
	routes  []string
	secrets []string
	err     error
}

var refsByVersion sync.Map // version → *listenerRefs

func refsFor(version string, l *anypb.Any) *listenerRefs {
	v, _ := refsByVersion.LoadOrStore(version, &listenerRefs{})
	r := v.(*listenerRefs)
	r.once.Do(func() { r.routes, r.secrets, r.err = decodeListenerRefs(l) })
	return r
}

func decodeListenerRefs(a *anypb.Any) (routes, secrets []string, err error) {
	var l listenerv3.Listener
	if err := a.UnmarshalTo(&l); err != nil {
		return nil, nil, fmt.Errorf("listener: %w", err)
	}
	for _, fc := range l.GetFilterChains() {
		for _, f := range fc.GetFilters() {
			var hcm hcmv3.HttpConnectionManager
			if tc := f.GetTypedConfig(); tc == nil || !tc.MessageIs(&hcm) {
				continue
			}
			if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
				return nil, nil, err
			}
			if n := hcm.GetRds().GetRouteConfigName(); n != "" {
				routes = append(routes, n)
			}
			for _, hf := range hcm.GetHttpFilters() {
				var ci credv3.CredentialInjector
				if tc := hf.GetTypedConfig(); tc == nil || !tc.MessageIs(&ci) {
					continue
				}
				if err := hf.GetTypedConfig().UnmarshalTo(&ci); err != nil {
					return nil, nil, err
				}
				var g genericv3.Generic
				if err := ci.GetCredential().GetTypedConfig().UnmarshalTo(&g); err != nil {
					return nil, nil, err
				}
				if n := g.GetCredential().GetName(); n != "" {
					secrets = append(secrets, n)
				}
			}
		}
	}
	slices.Sort(secrets)
	return routes, slices.Compact(secrets), nil
}

type typeState struct {
	subscribed bool
	names      []string
	version    string // of the last response (ACKed right away)
	nonce      string
	count      int
}

type adsClient struct {
	id      int
	node    *corev3.Node
	mode    string
	sds     string
	conn    *grpc.ClientConn
	send    func(*discoveryv3.DiscoveryRequest) error
	recv    func() (*response, error)
	types   map[string]*typeState
	sentReq int
	// complete is called each time the client first holds every
	// subscribed type at one version.
	complete func(id int, version string)
	last     string
}

// dialClient opens one gRPC connection (like one Envoy) and one ADS stream.
func dialClient(ctx context.Context, addr string, id int, mode, sds string, complete func(int, string)) (*adsClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Envoy takes ADS messages of any size; grpc-go's 4 MB default
		// would refuse a 10k-adapter route configuration.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, err
	}
	c := &adsClient{id: id, mode: mode, sds: sds, conn: conn, complete: complete,
		node:  &corev3.Node{Id: fmt.Sprintf("scale-envoy-%03d", id), Cluster: "scale"},
		types: map[string]*typeState{},
	}
	for _, t := range []string{resource.ClusterType, resource.ListenerType, resource.RouteType, resource.SecretType} {
		c.types[t] = &typeState{}
	}
	switch mode {
	case clientLight:
		desc := &discoveryv3.AggregatedDiscoveryService_ServiceDesc.Streams[0]
		cs, err := conn.NewStream(ctx, desc, discoveryv3.AggregatedDiscoveryService_StreamAggregatedResources_FullMethodName,
			grpc.ForceCodecV2(lightCodec{}))
		if err != nil {
			conn.Close()
			return nil, err
		}
		c.send = func(r *discoveryv3.DiscoveryRequest) error { return cs.SendMsg(r) }
		c.recv = func() (*response, error) {
			r := &response{}
			return r, cs.RecvMsg(r)
		}
	case clientFull:
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
		if err != nil {
			conn.Close()
			return nil, err
		}
		c.send = st.Send
		c.recv = func() (*response, error) {
			m, err := st.Recv()
			if err != nil {
				return nil, err
			}
			r := &response{Version: m.GetVersionInfo(), TypeURL: m.GetTypeUrl(), Nonce: m.GetNonce(), Count: len(m.GetResources())}
			if r.TypeURL == resource.ListenerType && r.Count > 0 {
				r.Listener = m.GetResources()[0]
			}
			return r, nil
		}
	default:
		return nil, fmt.Errorf("unknown client mode %q", mode)
	}
	return c, nil
}

func (c *adsClient) request(typeURL string) error {
	st := c.types[typeURL]
	req := &discoveryv3.DiscoveryRequest{TypeUrl: typeURL, VersionInfo: st.version, ResponseNonce: st.nonce, ResourceNames: st.names}
	if c.sentReq == 0 {
		req.Node = c.node // like Envoy: node only on the first message
	}
	c.sentReq++
	return c.send(req)
}

func (c *adsClient) subscribe(typeURL string, names []string) error {
	st := c.types[typeURL]
	st.subscribed, st.names = true, names
	return c.request(typeURL)
}

// run subscribes, then receives, follows references and ACKs until the
// stream ends.
func (c *adsClient) run() error {
	initial := []string{resource.ClusterType, resource.ListenerType}
	if c.sds == sdsWildcard {
		initial = append(initial, resource.RouteType, resource.SecretType)
	}
	for _, t := range initial {
		if err := c.subscribe(t, nil); err != nil {
			return err
		}
	}
	for {
		r, err := c.recv()
		if err != nil {
			if strings.Contains(err.Error(), "context canceled") || strings.Contains(err.Error(), "EOF") {
				return nil
			}
			return err
		}
		st := c.types[r.TypeURL]
		if st == nil {
			return fmt.Errorf("response of unexpected type %s", r.TypeURL)
		}
		st.version, st.nonce, st.count = r.Version, r.Nonce, r.Count
		if r.TypeURL == resource.ListenerType && c.sds == sdsNamed && r.Listener != nil {
			refs := refsFor(r.Version, r.Listener)
			if refs.err != nil {
				return refs.err
			}
			// Like Envoy: the new listener's dependencies are (re)requested
			// before the listener is ACKed.
			if rt := c.types[resource.RouteType]; !rt.subscribed || !slices.Equal(rt.names, refs.routes) {
				if err := c.subscribe(resource.RouteType, refs.routes); err != nil {
					return err
				}
			}
			if sc := c.types[resource.SecretType]; len(refs.secrets) > 0 && (!sc.subscribed || !slices.Equal(sc.names, refs.secrets)) {
				if err := c.subscribe(resource.SecretType, refs.secrets); err != nil {
					return err
				}
			}
		}
		if err := c.request(r.TypeURL); err != nil { // ACK
			return err
		}
		c.check()
	}
}

// check reports when the client first has every subscribed type at the
// listener's version (and, for named SDS, every secret it asked for).
func (c *adsClient) check() {
	v := c.types[resource.ListenerType].version
	if v == "" || v == c.last {
		return
	}
	for _, st := range c.types {
		if !st.subscribed {
			continue
		}
		if st.version != v {
			return
		}
		if len(st.names) > 0 && st.count < len(st.names) {
			return
		}
	}
	c.last = v
	c.complete(c.id, v)
}
