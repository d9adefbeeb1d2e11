package extproc

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/atlas-gateway/atlas/internal/verify"
)

// ErrorCodeHeader carries an error's stable code to Envoy's local reply
// formatter, which puts it in the JSON body's error.code.
const ErrorCodeHeader = "x-atlas-error-code"

func mutation(set []verify.Header, remove []string) *extprocv3.HeaderMutation {
	m := &extprocv3.HeaderMutation{SetHeaders: make([]*corev3.HeaderValueOption, 0, len(set)), RemoveHeaders: remove}
	for _, h := range set {
		m.SetHeaders = append(m.SetHeaders, &corev3.HeaderValueOption{
			// Since Envoy 1.27 only raw_value carries the bytes.
			Header:       &corev3.HeaderValue{Key: h.Name, RawValue: []byte(h.Value)},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return m
}

func headersResponse(m *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: m}},
	}}
}

// bodyResponse answers a buffered body; its header mutation applies to the
// request headers, which Envoy holds until this answer.
func bodyResponse(m *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{HeaderMutation: m}},
	}}
}

// immediate stops the request: Envoy answers the client itself and forwards
// nothing. The body is the message; Envoy's local reply config wraps it in
// Stripe's error shape.
func immediate(code int, errCode, message string) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode(code)},
			Body:   []byte(message),
			Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{
				Header:       &corev3.HeaderValue{Key: ErrorCodeHeader, RawValue: []byte(errCode)},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			}}},
			Details: "atlas_" + errCode,
		},
	}}
}
