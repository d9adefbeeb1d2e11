package main

import (
	"errors"
	"fmt"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

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
