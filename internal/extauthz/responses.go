package extauthz

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// allowed forwards the request with d's header changes. Envoy applies the
// sets before the removals; verify keeps the two lists disjoint.
func allowed(d verify.Decision) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers:         headerOptions(d.Set),
			HeadersToRemove: d.Remove,
		}},
	}
}

// denied stops the request: Envoy answers the client itself and forwards
// nothing. The body is the message; Envoy's local reply config wraps it in
// Stripe's error shape, reading the code from extproc.ErrorCodeHeader.
func denied(d verify.Decision) *authv3.CheckResponse {
	code := codes.PermissionDenied
	if d.Status == 401 {
		code = codes.Unauthenticated
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code), Message: d.Code},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(d.Status)},
			Headers: headerOptions([]verify.Header{{Name: extproc.ErrorCodeHeader, Value: d.Code}}),
			Body:    d.Message,
		}},
	}
}

// headerOptions sets each header, replacing any client copy. Unlike
// ext_proc, Envoy's ext_authz client reads only HeaderValue.value: a
// raw_value would be dropped and the header set empty.
func headerOptions(hs []verify.Header) []*corev3.HeaderValueOption {
	out := make([]*corev3.HeaderValueOption, 0, len(hs))
	for _, h := range hs {
		out = append(out, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: h.Name, Value: h.Value},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return out
}
