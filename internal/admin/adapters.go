package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/store"
)

// adapterService is AdapterService: file adapters are read-only, API
// adapters live in the store as Moment `kind: HTTP` documents.
type adapterService struct {
	adminv1.UnimplementedAdapterServiceServer
	s *Server
}

func (a *adapterService) ListAdapters(ctx context.Context, _ *adminv1.ListAdaptersRequest) (*adminv1.ListAdaptersResponse, error) {
	stored, err := a.s.d.Store.ListAdapters(ctx)
	if err != nil {
		return nil, storeError(ctx, a.s, "list adapters", err)
	}
	var out []*adminv1.Adapter
	for _, f := range a.s.d.FileAdapters() {
		out = append(out, fileAdapterProto(f))
	}
	for _, st := range stored {
		out = append(out, a.s.storedAdapterProto(ctx, st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return &adminv1.ListAdaptersResponse{Adapters: out}, nil
}

func (a *adapterService) GetAdapter(ctx context.Context, req *adminv1.GetAdapterRequest) (*adminv1.GetAdapterResponse, error) {
	if err := checkAdapterName("name", req.GetName()); err != nil {
		return nil, err
	}
	for _, f := range a.s.d.FileAdapters() {
		if f.Name == req.GetName() {
			return &adminv1.GetAdapterResponse{Adapter: fileAdapterProto(f)}, nil
		}
	}
	st, ok, err := a.s.storedAdapter(ctx, req.GetName())
	if err != nil {
		return nil, storeError(ctx, a.s, "read adapters", err)
	}
	if !ok {
		return nil, status.Errorf(codes.NotFound, "adapter %q does not exist; `mom atlas adapters list` shows the existing ones", req.GetName())
	}
	return &adminv1.GetAdapterResponse{Adapter: a.s.storedAdapterProto(ctx, st)}, nil
}

func (a *adapterService) ApplyAdapter(ctx context.Context, req *adminv1.ApplyAdapterRequest) (*adminv1.ApplyAdapterResponse, error) {
	in := req.GetAdapter()
	if in == nil {
		return nil, invalidArgument("adapter was not applied", violation{"adapter", "is missing; send the adapter to create or replace"})
	}
	name := in.GetName()
	if err := checkAdapterName("adapter.name", name); err != nil {
		return nil, err
	}
	if src, ok := a.s.d.FileAdapter(name); ok {
		return nil, readOnly(name, src)
	}
	doc, fields := adapterDocument(in)
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	current, err := a.s.d.Store.ListAdapters(ctx)
	if err != nil {
		return nil, storeError(ctx, a.s, "list adapters", err)
	}
	candidate := store.Adapter{Name: name, Document: doc, UpdatedAt: a.s.now().UTC()}
	if err := a.s.d.Validate(ctx, withAdapter(current, candidate)); err != nil {
		return nil, invalidArgument(fmt.Sprintf("adapter %q was not applied", name), violations(err, name, fields)...)
	}
	created, err := a.s.d.Store.PutAdapter(ctx, candidate)
	if err != nil {
		return nil, storeError(ctx, a.s, "save the adapter", err)
	}
	a.s.logger(ctx).Info("adapter applied", "adapter", name, "created", created)
	return &adminv1.ApplyAdapterResponse{Adapter: a.s.storedAdapterProto(ctx, candidate), Created: created}, nil
}

func (a *adapterService) DeleteAdapter(ctx context.Context, req *adminv1.DeleteAdapterRequest) (*adminv1.DeleteAdapterResponse, error) {
	name := req.GetName()
	if err := checkAdapterName("name", name); err != nil {
		return nil, err
	}
	if src, ok := a.s.d.FileAdapter(name); ok {
		return nil, readOnly(name, src)
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if err := a.s.d.Store.DeleteAdapter(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, status.Errorf(codes.NotFound, "adapter %q does not exist; `mom atlas adapters list` shows the existing ones", name)
		}
		return nil, storeError(ctx, a.s, "delete the adapter", err)
	}
	a.s.logger(ctx).Info("adapter deleted", "adapter", name)
	return &adminv1.DeleteAdapterResponse{}, nil
}

// checkAdapterName applies the file's name rule to a request field.
func checkAdapterName(field, name string) error {
	if err := config.ValidateAdapterName(name); err != nil {
		return invalidArgument("invalid adapter name", violation{field, err.Error()})
	}
	return nil
}

func readOnly(name, source string) error {
	return status.Errorf(codes.FailedPrecondition, "adapter %q is defined in the configuration file at %s, which the API cannot change: edit that file (Atlas reloads it), or use another name for an API adapter", name, source)
}

// withAdapter is current with c added, or replacing the adapter of its name.
func withAdapter(current []store.Adapter, c store.Adapter) []store.Adapter {
	out := make([]store.Adapter, 0, len(current)+1)
	for _, a := range current {
		if a.Name != c.Name {
			out = append(out, a)
		}
	}
	return append(out, c)
}

func (s *Server) storedAdapter(ctx context.Context, name string) (store.Adapter, bool, error) {
	all, err := s.d.Store.ListAdapters(ctx)
	if err != nil {
		return store.Adapter{}, false, err
	}
	for _, a := range all {
		if a.Name == name {
			return a, true, nil
		}
	}
	return store.Adapter{}, false, nil
}

// storedAdapterProto shows an API adapter; an unreadable document is
// logged and shown by name only, so one bad row does not hide the rest.
func (s *Server) storedAdapterProto(ctx context.Context, st store.Adapter) *adminv1.Adapter {
	a, err := adapterFromDocument(st.Name, st.Document)
	if err != nil {
		s.logger(ctx).Warn("stored adapter unreadable", "adapter", st.Name, "error", err)
	}
	if !st.UpdatedAt.IsZero() {
		a.UpdateTime = timestamppb.New(st.UpdatedAt)
	}
	return a
}

func fileAdapterProto(f FileAdapter) *adminv1.Adapter {
	a := &adminv1.Adapter{Name: f.Name, BaseUrl: f.BaseURL, Source: adminv1.AdapterSource_ADAPTER_SOURCE_FILE}
	for _, h := range f.Headers {
		a.Headers = append(a.Headers, &adminv1.Header{Name: h.Name, ValueTemplate: h.Template})
	}
	if len(f.CAPEM) > 0 {
		a.Tls = &adminv1.UpstreamTls{CaPem: string(f.CAPEM)}
	}
	if !f.UpdatedAt.IsZero() {
		a.UpdateTime = timestamppb.New(f.UpdatedAt)
	}
	return a
}

// storeError logs a store failure and returns Unavailable: the request was
// fine, so retrying once the store is back is the fix.
func storeError(ctx context.Context, s *Server, what string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	s.logger(ctx).Error("store failed", "op", what, "error", err)
	return status.Errorf(codes.Unavailable, "could not %s: the store failed (%v); retry, and check the atlas server's log and its --store setting if it persists", what, err)
}
