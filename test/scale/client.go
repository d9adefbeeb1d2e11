package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"                     // RDS resources, for -client full
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3" // SDS resources, for -client full
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

// lightCodec marshals requests with protobuf and decodes responses by
// scanning their wire format without materializing the message.
type lightCodec struct {
	delta  bool
	follow bool // scan listeners and clusters for the names they reference
}

func (lightCodec) Name() string { return "proto" }

func (lightCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Field numbers of DiscoveryResponse and DeltaDiscoveryResponse (they
// agree on 1, 2, 4 and 5), of delta's Resource, and of the resources' name.
const (
	fRespVersion   = 1 // version_info / system_version_info
	fRespResources = 2
	fRespTypeURL   = 4
	fRespNonce     = 5
	fRespRemoved   = 6 // delta: removed_resources
	fResResource   = 2 // Resource.resource (Any)
	fResName       = 3 // Resource.name
	fResourceName  = 1 // Listener, Cluster, RouteConfiguration and Secret: name
)

func (l lightCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*reply)
	if !ok {
		return fmt.Errorf("lightCodec: cannot decode into %T", v)
	}
	c := newCursor(data)
	start := c
	// The type URL follows the resources on the wire: read the envelope
	// first, then walk the resources again.
	count := 0
	err := c.each(func(num protowire.Number, f *cursor) error {
		var err error
		switch {
		case num == fRespVersion:
			r.version, err = f.str()
		case num == fRespTypeURL:
			r.typeURL, err = f.str()
		case num == fRespNonce:
			r.nonce, err = f.str()
		case num == fRespRemoved && l.delta:
			var b []byte
			if b, err = f.bytes(); err == nil {
				r.removed = append(r.removed, intern(b))
			}
		case num == fRespResources:
			count++
		}
		return err
	})
	if err != nil {
		return err
	}
	r.objs = make([]obj, 0, count)
	scan := l.follow && follows(r.typeURL)
	return start.each(func(num protowire.Number, f *cursor) error {
		if num != fRespResources {
			return nil
		}
		var o obj
		var err error
		if l.delta {
			o, err = l.deltaResource(f, r.typeURL, scan)
		} else {
			o, err = l.anyResource(f, r.typeURL, scan)
		}
		r.objs = append(r.objs, o)
		return err
	})
}

// deltaResource reads a delta Resource: its name, and if scan, the names
// its value references.
func (l lightCodec) deltaResource(f *cursor, typeURL string, scan bool) (obj, error) {
	var name, value []byte
	err := f.each(func(num protowire.Number, g *cursor) error {
		var err error
		switch {
		case num == fResName:
			name, err = g.bytes()
		case num == fResResource && scan:
			var a []byte
			if a, err = g.bytes(); err == nil {
				_, value, err = anyOf(a)
			}
		}
		return err
	})
	if err != nil || !scan {
		return obj{name: intern(name)}, err
	}
	return scanObj(typeURL, name, value)
}

// anyResource reads a SotW resource (an Any): the name inside it, and if
// scan, the names it references.
func (l lightCodec) anyResource(f *cursor, typeURL string, scan bool) (obj, error) {
	var name, value []byte
	err := f.each(func(num protowire.Number, g *cursor) error {
		if num != fAnyValue {
			return nil
		}
		if scan {
			var err error
			if value, err = g.bytes(); err != nil {
				return err
			}
			return fields(value, func(num protowire.Number, v []byte) error {
				if num == fResourceName && name == nil {
					name = v
				}
				return nil
			})
		}
		// Only the name, the first field: the rest is never read.
		err := g.each(func(num protowire.Number, h *cursor) error {
			if num != fResourceName {
				return nil
			}
			var err error
			if name, err = h.bytes(); err == nil {
				err = errStop
			}
			return err
		})
		if err == errStop {
			err = nil
		}
		return err
	})
	if err != nil || !scan {
		return obj{name: intern(name)}, err
	}
	return scanObj(typeURL, name, value)
}

func scanObj(typeURL string, name, value []byte) (obj, error) {
	fn := scanCluster
	if typeURL == resource.ListenerType {
		fn = scanListener
	}
	n, r, err := scans.get(typeURL, name, value, fn)
	return obj{name: n, refs: r}, err
}

var _ encoding.CodecV2 = lightCodec{}

// cursor reads protobuf wire data spread over several buffers, at most
// left bytes of it.
type cursor struct {
	bufs [][]byte
	i    int
	off  int
	left int
}

func newCursor(data mem.BufferSlice) cursor {
	c := cursor{}
	for _, b := range data {
		if d := b.ReadOnlyData(); len(d) > 0 {
			c.bufs = append(c.bufs, d)
			c.left += len(d)
		}
	}
	return c
}

func (c *cursor) eof() bool {
	if c.left <= 0 {
		return true
	}
	for c.i < len(c.bufs) && c.off >= len(c.bufs[c.i]) {
		c.i++
		c.off = 0
	}
	return c.i >= len(c.bufs)
}

var (
	errShort = errors.New("lightCodec: truncated message")
	errStop  = errors.New("lightCodec: stop") // ends an each early
)

func (c *cursor) byte() (byte, error) {
	if c.eof() {
		return 0, errShort
	}
	b := c.bufs[c.i][c.off]
	c.off++
	c.left--
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
	if n > c.left {
		return errShort
	}
	for n > 0 {
		if c.eof() {
			return errShort
		}
		k := min(n, len(c.bufs[c.i])-c.off)
		c.off += k
		c.left -= k
		n -= k
	}
	return nil
}

// bytes returns the rest of the cursor's bytes, without copying them when
// they lie in one buffer (valid only during Unmarshal).
func (c *cursor) bytes() ([]byte, error) {
	n := c.left
	if c.eof() {
		return []byte{}, nil
	}
	if b := c.bufs[c.i][c.off:]; len(b) >= n {
		c.off += n
		c.left = 0
		return b[:n], nil
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		if c.eof() {
			return nil, errShort
		}
		k := min(n-len(out), len(c.bufs[c.i])-c.off)
		out = append(out, c.bufs[c.i][c.off:c.off+k]...)
		c.off += k
		c.left -= k
	}
	return out, nil
}

func (c *cursor) str() (string, error) {
	b, err := c.bytes()
	return string(b), err
}

// each calls fn with a cursor over the value of every length-delimited
// field, skipping the others and whatever fn leaves unread.
func (c *cursor) each(fn func(num protowire.Number, f *cursor) error) error {
	for !c.eof() {
		tag, err := c.varint()
		if err != nil {
			return err
		}
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		switch typ {
		case protowire.VarintType:
			_, err = c.varint()
		case protowire.Fixed32Type:
			err = c.skip(4)
		case protowire.Fixed64Type:
			err = c.skip(8)
		case protowire.BytesType:
			var n uint64
			if n, err = c.varint(); err != nil {
				return err
			}
			if int(n) > c.left {
				return errShort
			}
			f := *c
			f.left = int(n)
			if err = fn(num, &f); err == nil {
				err = c.skip(int(n))
			}
		default:
			err = fmt.Errorf("lightCodec: unexpected wire type %d", typ)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- full decoding ----

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

// ---- the client ----

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
