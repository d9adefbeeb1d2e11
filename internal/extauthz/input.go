package extauthz

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// inputOf picks what verification needs out of Envoy's view of a request.
// A request with no adapter, headers or body yields an Input that Decide
// refuses: missing data fails closed.
func inputOf(req *authv3.CheckRequest) verify.Input {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	in := verify.Input{
		Adapter: attrs.GetContextExtensions()[translate.ContextAdapterKey],
		Method:  h.GetMethod(),
	}
	// header_map replaces headers when the filter sets encode_raw_headers:
	// raw bytes, and repeated headers not merged.
	var method string
	if hm := h.GetHeaderMap(); len(hm.GetHeaders()) > 0 {
		method = readHeaderMap(&in, hm)
	} else {
		method = readHeaders(&in, h.GetHeaders())
	}
	if in.Method == "" {
		in.Method = method
	}
	// pack_as_bytes fills raw_body; without it Envoy sends body as a
	// string, which is only byte-exact for UTF-8 bodies.
	in.Body = h.GetRawBody()
	if len(in.Body) == 0 && h.GetBody() != "" {
		in.Body = []byte(h.GetBody())
	}
	return in
}

// readHeaders reads Envoy's headers map, whose keys are lowercase and whose
// repeated headers are already merged with ",". It returns :method.
func readHeaders(in *verify.Input, hs map[string]string) string {
	in.Signature = hs["stripe-signature"]
	in.StripeUser = hs["stripe-user"]
	in.UserID = hs["stripe-user-id"]
	in.AccountID = hs["stripe-account-id"]
	in.StripeAccount = hs["stripe-account"]
	return hs[":method"]
}

// readHeaderMap reads the raw header list. Repeated headers are merged with
// "," as Envoy does for the headers map, so a request verifies the same
// whichever encoding the filter uses, and a second, forged copy of a header
// is never silently dropped. It returns :method.
func readHeaderMap(in *verify.Input, hm *corev3.HeaderMap) string {
	for _, h := range hm.GetHeaders() {
		v := h.GetValue()
		if raw := h.GetRawValue(); len(raw) > 0 {
			v = string(raw)
		}
		in.AddHeader(h.GetKey(), v)
	}
	method := in.Method
	in.Method = ""
	return method
}
