package extproc

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/atlas-gateway/atlas/internal/audit"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/verify"
)

// exchange is the state of one request's stream.
type exchange struct {
	st      *state
	adapter string
	now     func() time.Time
	log     *slog.Logger
	obs     Observer
	audit   Auditor
	// pending is set when a signed request waits for its body.
	pending *verify.Input
	// path and requestID are kept for the audit log, only when there is one.
	path, requestID string
}

func (x *exchange) handle(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch r := req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return x.onHeaders(r.RequestHeaders)
	case *extprocv3.ProcessingRequest_RequestBody:
		return x.onBody(r.RequestBody)
	}
	return nil
}

func (x *exchange) onHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	if x.adapter == "" {
		// A plain adapter's route (ext_proc injection mode) does not name
		// its adapter: Envoy routed on this path, so the path names it.
		x.adapter = adapterFromPath(pathOf(h.GetHeaders()))
	}
	if !x.st.engine.Signed(x.adapter) {
		if r, ok := x.st.headers[x.adapter]; ok {
			x.obs.Injection(x.adapter)
			return r
		}
		return immediate(404, verify.CodeUnknownAdapter, translate.NotFoundMessage)
	}
	start := time.Now()
	in, contentLength := readHeaders(x.adapter, h.GetHeaders())
	if x.audit != nil {
		x.path, x.requestID = auditHeaders(h.GetHeaders())
	}
	if h.GetEndOfStream() || !verify.BodyMethods(in.Method) {
		// No body to verify: decide now. (A body on a GET is forwarded
		// untouched; the signature covered the headers.)
		return x.decide(in, headersResponse, start)
	}
	if d := x.st.engine.CheckLength(x.adapter, contentLength); d != nil {
		x.record(in.Method, *d, start)
		return immediate(d.Status, d.Code, d.Message)
	}
	x.pending = &in
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
}

func (x *exchange) onBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if x.pending == nil {
		return bodyResponse(nil)
	}
	start := time.Now()
	in := *x.pending
	x.pending = nil
	in.Body = b.GetBody()
	return x.decide(in, bodyResponse, start)
}

func (x *exchange) decide(in verify.Input, wrap func(*extprocv3.HeaderMutation) *extprocv3.ProcessingResponse, start time.Time) *extprocv3.ProcessingResponse {
	d := x.st.engine.Decide(in, x.now())
	if !d.Allow {
		x.log.Debug("signed request refused", "adapter", x.adapter, "method", in.Method, "code", d.Code)
		resp := immediate(d.Status, d.Code, d.Message)
		x.record(in.Method, d, start)
		return resp
	}
	resp := wrap(mutation(d.Set, d.Remove))
	x.record(in.Method, d, start)
	return resp
}

// record reports a signature check to the observer and the audit log.
func (x *exchange) record(method string, d verify.Decision, start time.Time) {
	outcome := "allowed"
	if !d.Allow {
		outcome = d.Code
	}
	x.obs.Decision(Filter, x.adapter, outcome, time.Since(start))
	if x.audit != nil {
		x.audit.Log(audit.Entry{Filter: Filter, Adapter: x.adapter, Method: method, Path: x.path, RequestID: x.requestID, Decision: d})
	}
}

// pathOf returns the request's :path ("" when absent).
func pathOf(hm *corev3.HeaderMap) string {
	for _, h := range hm.GetHeaders() {
		if h.GetKey() == ":path" {
			return headerValue(h)
		}
	}
	return ""
}

// adapterFromPath returns the adapter name in a path Envoy routes to an
// adapter (translate.RoutePrefix + name, then "/", "?" or the end), or ""
// for any other path. Envoy normalised the path before routing on it and
// before sending it here, and matches routes case-sensitively, as this does.
func adapterFromPath(path string) string {
	rest, ok := strings.CutPrefix(path, translate.RoutePrefix)
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// auditHeaders reads the request path and id for the audit log.
func auditHeaders(hm *corev3.HeaderMap) (path, requestID string) {
	for _, h := range hm.GetHeaders() {
		switch strings.ToLower(h.GetKey()) {
		case ":path":
			path = headerValue(h)
		case "x-request-id":
			requestID = headerValue(h)
		}
	}
	return path, requestID
}

func headerValue(h *corev3.HeaderValue) string {
	if raw := h.GetRawValue(); len(raw) > 0 {
		return string(raw)
	}
	return h.GetValue()
}

// readHeaders picks the fields verification needs out of Envoy's header map.
// Repeated headers are joined with "," (as Envoy's ext_authz does), so a
// forged copy next to a genuine one can never pass as the genuine one.
func readHeaders(adapter string, hm *corev3.HeaderMap) (verify.Input, int64) {
	in := verify.Input{Adapter: adapter}
	contentLength := int64(-1)
	for _, h := range hm.GetHeaders() {
		v := h.GetValue()
		if raw := h.GetRawValue(); len(raw) > 0 {
			v = string(raw)
		}
		if strings.EqualFold(h.GetKey(), "content-length") {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				contentLength = n
			}
			continue
		}
		in.AddHeader(h.GetKey(), v)
	}
	return in, contentLength
}
