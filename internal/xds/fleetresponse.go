package xds

import (
	"context"
	"reflect"
	"strconv"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// The responses of fleetCache's delta watches (fleetwatch.go).

// respond records d as held by the stream and returns the response.
func (st *subState) respond(req *cachev3.DeltaRequest, d changeSet, seq uint64) *deltaResponse {
	version := strconv.FormatUint(seq, 10)
	out := &discoveryv3.DeltaDiscoveryResponse{TypeUrl: req.GetTypeUrl(), SystemVersionInfo: version,
		Resources: make([]*discoveryv3.Resource, 0, len(d))}
	for name, e := range d {
		if e == nil {
			delete(st.known, name)
			out.RemovedResources = append(out.RemovedResources, name)
			continue
		}
		st.known[name] = e.version
		out.Resources = append(out.Resources, e.res)
	}
	return &deltaResponse{req: req, version: version, resp: out, known: st.known}
}

// sameMap reports whether a and b are the same map (not equal contents).
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// deltaResponse is a response of fleetCache. Its resources are shared with
// every other response; the server sets the nonce on resp, which is this
// response's own. GetNextVersionMap returns the stream's known map, already
// up to date (see above): nothing is copied.
type deltaResponse struct {
	req     *cachev3.DeltaRequest
	version string
	resp    *discoveryv3.DeltaDiscoveryResponse
	known   map[string]string
}

var _ cachev3.DeltaResponse = (*deltaResponse)(nil)

func (r *deltaResponse) GetDeltaDiscoveryResponse() (*discoveryv3.DeltaDiscoveryResponse, error) {
	return r.resp, nil
}
func (r *deltaResponse) GetDeltaRequest() *discoveryv3.DeltaDiscoveryRequest { return r.req }
func (r *deltaResponse) GetSystemVersion() (string, error)                   { return r.version, nil }
func (r *deltaResponse) GetResponseVersion() string                          { return r.version }
func (r *deltaResponse) GetNextVersionMap() map[string]string                { return r.known }
func (r *deltaResponse) GetReturnedResources() map[string]string             { return r.known }
func (r *deltaResponse) GetContext() context.Context                         { return context.Background() }
