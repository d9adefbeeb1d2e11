package translate

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// mustAny packs a message we built ourselves; packing fails only for a nil
// or unregistered message, which would be a programming error.
//
// The bytes are marshalled deterministically (map entries in key order):
// the xDS server compares resources to decide what changed, and a listener
// whose bytes differed on every translation would be resent to every Envoy
// on every change, and rebuilt there.
func mustAny(m proto.Message) *anypb.Any {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic("translate: packing " + string(proto.MessageName(m)) + ": " + err.Error())
	}
	return a
}
