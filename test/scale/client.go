package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// The ADS client below behaves like Envoy with one ADS stream per node.
//
// With -protocol delta (the default; Envoy's api_type DELTA_GRPC) it opens
// DeltaAggregatedResources and subscribes to CDS and LDS as wildcards (a
// first request with no names). From each listener it receives it learns
// the RDS route configuration its HTTP connection manager names (and the
// SDS secrets of any credential_injector filter there); from each cluster,
// the SDS secrets of the credential_injector filters among its upstream
// HTTP filters. It subscribes to those names with resource_names_subscribe
// as soon as the first resource names them and unsubscribes
// (resource_names_unsubscribe) once none does, before ACKing the response
// that changed them; every DeltaDiscoveryResponse is ACKed with its type
// and nonce. With -protocol sotw it speaks state-of-the-world ADS
// (StreamAggregatedResources) the same way: the full list of names of a
// type in every request, each response ACKed with its version and nonce.
// With -sds wildcard it subscribes to all four types as wildcards instead
// of following names.
//
// -client light decodes only the response's envelope (version, type, nonce,
// each resource's name, delta's removed_resources), and walks the wire
// format of listeners and clusters just far enough to find the names they
// reference, so that 200 in-process clients spend as little of the shared
// CPU as possible; the walk is shared by the clients (scanCache). -client
// full decodes every response and every resource in it with the generated
// protobuf code, each client on its own, as a Go xDS client would.
//
// A client holds a version of a type once it has ACKed a response carrying
// it (delta's system_version_info, SotW's version_info). It reports
// (complete) each time it first holds everything it subscribes to — a
// response for each wildcard type, every name of each named one — giving
// the highest version it ACKed: at connect, the version of the baseline.

const (
	clientLight   = "light"
	clientFull    = "full"
	sdsNamed      = "named"
	sdsWildcard   = "wildcard"
	protocolDelta = "delta"
	protocolSotW  = "sotw"
)

// obj is one resource of a response, as the client needs it.
type obj struct {
	name string
	refs *refs // listeners and clusters when following names; else nil
}

// reply is one DiscoveryResponse or DeltaDiscoveryResponse, as the client
// needs it.
type reply struct {
	version, typeURL, nonce string
	objs                    []obj
	removed                 []string // delta only
}

// follows reports whether resources of typeURL name resources of others.
func follows(typeURL string) bool {
	return typeURL == resource.ListenerType || typeURL == resource.ClusterType
}

// ---- light decoding ----

type typeState struct {
	wildcard bool // subscribed with no names
	started  bool // a request of this type was sent
	got      bool // a response arrived
	version  string
	vnum     uint64
	nonce    string
	// Named types: the names subscribed to (as the server knows them), how
	// many held resources reference each name, and the names whose count
	// went to or from zero since the last subscription request.
	sub   map[string]bool
	want  map[string]int32
	dirty map[string]bool
	// missing counts the names of sub not in have.
	missing int
	// list is sub as a slice, for SotW requests (nil: to be rebuilt).
	list []string
	// have holds the resources of this type the client has, with what they
	// reference (listeners and clusters).
	have map[string]*refs
}

type adsClient struct {
	id     int
	node   *corev3.Node
	delta  bool
	follow bool
	conn   *grpc.ClientConn
	send   func(proto.Message) error
	recv   func() (*reply, error)
	types  map[string]*typeState
	sent   int
	// complete is called each time the client first holds everything it
	// subscribes to, with the highest version it ACKed.
	complete func(id int, version string)
	last     string
	// onReply, if set (tests), is called after each response is handled.
	onReply func()
}

// dialClient opens one gRPC connection (like one Envoy) and one ADS stream.
func dialClient(ctx context.Context, addr string, id int, o *options, complete func(int, string)) (*adsClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Envoy takes ADS messages of any size; grpc-go's 4 MB default
		// would refuse a 10k-adapter route configuration.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, err
	}
	c := &adsClient{id: id, delta: o.protocol == protocolDelta, follow: o.sds == sdsNamed, conn: conn, complete: complete,
		node:  &corev3.Node{Id: fmt.Sprintf("scale-envoy-%03d", id), Cluster: "scale"},
		types: map[string]*typeState{},
	}
	for _, t := range []string{resource.ClusterType, resource.ListenerType, resource.RouteType, resource.SecretType} {
		c.types[t] = &typeState{sub: map[string]bool{}, want: map[string]int32{}, dirty: map[string]bool{}, have: map[string]*refs{}}
	}
	if err := c.open(ctx, o.clientMode); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *adsClient) open(ctx context.Context, mode string) error {
	switch {
	case mode == clientLight:
		desc, method := &discoveryv3.AggregatedDiscoveryService_ServiceDesc.Streams[0], discoveryv3.AggregatedDiscoveryService_StreamAggregatedResources_FullMethodName
		if c.delta {
			desc, method = &discoveryv3.AggregatedDiscoveryService_ServiceDesc.Streams[1], discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResources_FullMethodName
		}
		cs, err := c.conn.NewStream(ctx, desc, method, grpc.ForceCodecV2(lightCodec{delta: c.delta, follow: c.follow}))
		if err != nil {
			return err
		}
		c.send = func(m proto.Message) error { return cs.SendMsg(m) }
		c.recv = func() (*reply, error) {
			r := &reply{}
			return r, cs.RecvMsg(r)
		}
	case mode == clientFull && c.delta:
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(c.conn).DeltaAggregatedResources(ctx)
		if err != nil {
			return err
		}
		c.send = func(m proto.Message) error { return st.Send(m.(*discoveryv3.DeltaDiscoveryRequest)) }
		c.recv = func() (*reply, error) {
			m, err := st.Recv()
			if err != nil {
				return nil, err
			}
			return fullDelta(m, c.follow)
		}
	case mode == clientFull:
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(c.conn).StreamAggregatedResources(ctx)
		if err != nil {
			return err
		}
		c.send = func(m proto.Message) error { return st.Send(m.(*discoveryv3.DiscoveryRequest)) }
		c.recv = func() (*reply, error) {
			m, err := st.Recv()
			if err != nil {
				return nil, err
			}
			return fullSotW(m, c.follow)
		}
	default:
		return fmt.Errorf("unknown client mode %q", mode)
	}
	return nil
}

// request sends one request of typeURL: a delta subscription change (add,
// del), a delta ACK (nonce), or a SotW request with the type's full list
// of names and the last version and nonce.
func (c *adsClient) request(typeURL string, add, del []string, nonce string) error {
	st := c.types[typeURL]
	var node *corev3.Node
	if c.sent == 0 {
		node = c.node // like Envoy: the node only on the first message
	}
	c.sent++
	st.started = true
	if c.delta {
		return c.send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: typeURL,
			ResourceNamesSubscribe: add, ResourceNamesUnsubscribe: del, ResponseNonce: nonce})
	}
	if !st.wildcard && st.list == nil {
		st.list = make([]string, 0, len(st.sub))
		for n := range st.sub {
			st.list = append(st.list, n)
		}
	}
	return c.send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: st.list,
		VersionInfo: st.version, ResponseNonce: st.nonce})
}

// run subscribes, then receives, follows names and ACKs until the stream
// ends.
func (c *adsClient) run() error {
	initial := []string{resource.ClusterType, resource.ListenerType}
	if !c.follow {
		initial = append(initial, resource.RouteType, resource.SecretType)
	}
	for _, t := range initial {
		c.types[t].wildcard = true
		if err := c.request(t, nil, nil, ""); err != nil {
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
		st := c.types[r.typeURL]
		if st == nil {
			return fmt.Errorf("response of unexpected type %s", r.typeURL)
		}
		c.apply(r.typeURL, st, r)
		// Like Envoy: what a new listener or cluster needs is (un)subscribed
		// before that listener or cluster is ACKed.
		for _, t := range []string{resource.RouteType, resource.SecretType} {
			if err := c.flush(t); err != nil {
				return err
			}
		}
		if c.delta {
			err = c.request(r.typeURL, nil, nil, r.nonce)
		} else {
			err = c.request(r.typeURL, nil, nil, "")
		}
		if err != nil { // ACK
			return err
		}
		c.check()
		if c.onReply != nil {
			c.onReply()
		}
	}
}

func (c *adsClient) apply(typeURL string, st *typeState, r *reply) {
	st.got = true
	st.version, st.nonce = r.version, r.nonce
	st.vnum, _ = strconv.ParseUint(r.version, 10, 64)
	if !c.delta && st.wildcard && (typeURL == resource.ListenerType || typeURL == resource.ClusterType) {
		// SotW LDS and CDS responses carry every resource: what is not in
		// one is gone.
		seen := make(map[string]bool, len(r.objs))
		for _, o := range r.objs {
			seen[o.name] = true
		}
		for n := range st.have {
			if !seen[n] {
				c.drop(st, n)
			}
		}
	}
	for _, o := range r.objs {
		old, had := st.have[o.name]
		if !had && st.sub[o.name] {
			st.missing--
		}
		if !had || old != o.refs {
			c.unref(old)
			c.ref(o.refs)
		}
		st.have[o.name] = o.refs
	}
	for _, n := range r.removed {
		c.drop(st, n)
	}
}

func (c *adsClient) drop(st *typeState, name string) {
	r, ok := st.have[name]
	if !ok {
		return
	}
	delete(st.have, name)
	if st.sub[name] {
		st.missing++
	}
	c.unref(r)
}

func (c *adsClient) ref(r *refs)   { c.count(r, 1) }
func (c *adsClient) unref(r *refs) { c.count(r, -1) }

func (c *adsClient) count(r *refs, d int32) {
	if r == nil {
		return
	}
	for _, n := range r.routes {
		c.want(c.types[resource.RouteType], n, d)
	}
	for _, n := range r.secrets {
		c.want(c.types[resource.SecretType], n, d)
	}
}

func (c *adsClient) want(st *typeState, name string, d int32) {
	before := st.want[name]
	after := before + d
	if after <= 0 {
		delete(st.want, name)
	} else {
		st.want[name] = after
	}
	if (before > 0) != (after > 0) {
		st.dirty[name] = true
	}
}

// flush sends the subscription changes of a named type, if any.
func (c *adsClient) flush(typeURL string) error {
	st := c.types[typeURL]
	if st.wildcard || len(st.dirty) == 0 {
		return nil
	}
	var add, del []string
	for n := range st.dirty {
		switch wanted := st.want[n] > 0; {
		case wanted && !st.sub[n]:
			st.sub[n] = true
			add = append(add, n)
			if _, ok := st.have[n]; !ok {
				st.missing++
			}
		case !wanted && st.sub[n]:
			delete(st.sub, n)
			del = append(del, n)
			if _, ok := st.have[n]; ok {
				delete(st.have, n) // like Envoy: an unsubscribed resource is dropped
			} else {
				st.missing--
			}
		}
	}
	clear(st.dirty)
	if len(add) == 0 && len(del) == 0 {
		return nil
	}
	st.list = nil
	return c.request(typeURL, add, del, "")
}

// check reports when the client first holds everything it subscribes to,
// with the highest version it ACKed.
func (c *adsClient) check() {
	var v string
	var vnum uint64
	for _, st := range c.types {
		if !st.started {
			continue
		}
		if !st.got || st.missing > 0 {
			return
		}
		if st.vnum > vnum || v == "" {
			v, vnum = st.version, st.vnum
		}
	}
	if v == "" || v == c.last {
		return
	}
	c.last = v
	c.complete(c.id, v)
}
