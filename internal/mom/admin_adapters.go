package mom

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func listAdapters(ctx context.Context, s *adminSession, _ []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.adapters.ListAdapters(ctx, &adminv1.ListAdaptersRequest{})
	if err != nil {
		return s.rpcError("list adapters", err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	if len(resp.GetAdapters()) == 0 {
		_, err := fmt.Fprintln(s.stdout, "No adapters. Add one with: mom atlas adapters apply -f FILE")
		return err
	}
	var rows [][]string
	for _, a := range resp.GetAdapters() {
		rows = append(rows, []string{a.GetName(), source(a.GetSource()), a.GetBaseUrl(), headerNames(a), age(a.GetUpdateTime())})
	}
	return table(s.stdout, "NAME\tSOURCE\tBASE URL\tHEADERS\tUPDATED", rows)
}

func getAdapter(ctx context.Context, s *adminSession, args []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.adapters.GetAdapter(ctx, &adminv1.GetAdapterRequest{Name: args[0]})
	if err != nil {
		return s.rpcError(fmt.Sprintf("get adapter %q", args[0]), err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	a := resp.GetAdapter()
	trust := "system trust store"
	if n := strings.Count(a.GetTls().GetCaPem(), "BEGIN CERTIFICATE"); n > 0 {
		trust = fmt.Sprintf("custom CA bundle (%d certificates)", n)
	}
	w := s.stdout
	fmt.Fprintf(w, "Name:      %s\n", a.GetName())
	fmt.Fprintf(w, "Source:    %s\n", source(a.GetSource()))
	fmt.Fprintf(w, "Base URL:  %s\n", a.GetBaseUrl())
	fmt.Fprintf(w, "Path:      /v1/apis/http/%s/…\n", a.GetName())
	fmt.Fprintf(w, "TLS:       %s\n", trust)
	fmt.Fprintf(w, "Updated:   %s\n", timeAndAge(a.GetUpdateTime()))
	if len(a.GetHeaders()) == 0 {
		_, err = fmt.Fprintln(w, "Headers:   none")
		return err
	}
	fmt.Fprintln(w, "Headers:")
	for _, h := range a.GetHeaders() {
		fmt.Fprintf(w, "  %s: %s\n", h.GetName(), h.GetValueTemplate())
	}
	return nil
}

func applyAdapters(ctx context.Context, s *adminSession, _ []string) error {
	data, err := s.readApplyFile()
	if err != nil {
		return err
	}
	name := s.opts.file
	if name == "-" {
		name = "standard input"
	}
	adapters, err := adaptersFromYAML(name, data, os.ReadFile)
	if err != nil {
		return err
	}
	var results []proto.Message
	for i, a := range adapters {
		resp, err := s.applyOne(ctx, a)
		if err != nil {
			if len(adapters) > 1 {
				err = fmt.Errorf("%w\n(already applied: %s; not applied: %s)", err, orDash(names(adapters[:i])), names(adapters[i:]))
			}
			return err
		}
		results = append(results, resp)
		if !s.json() {
			verb := "updated"
			if resp.GetCreated() {
				verb = "created"
			}
			fmt.Fprintf(s.stdout, "Adapter %q %s: /v1/apis/http/%s/… now goes to %s\n", a.GetName(), verb, a.GetName(), resp.GetAdapter().GetBaseUrl())
		}
	}
	if s.json() {
		return s.printJSONList("results", results)
	}
	return nil
}

func (s *adminSession) applyOne(ctx context.Context, a *adminv1.Adapter) (*adminv1.ApplyAdapterResponse, error) {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.adapters.ApplyAdapter(ctx, &adminv1.ApplyAdapterRequest{Adapter: a})
	if err != nil {
		return nil, s.rpcError(fmt.Sprintf("apply adapter %q", a.GetName()), err)
	}
	return resp, nil
}

// readApplyFile reads -f FILE, or standard input for -f -.
func (s *adminSession) readApplyFile() ([]byte, error) {
	if s.opts.file == "-" {
		data, err := io.ReadAll(s.stdin)
		if err != nil {
			return nil, fmt.Errorf("-f -: read standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(s.opts.file)
	if err != nil {
		return nil, fmt.Errorf("%w (check -f)", err)
	}
	return data, nil
}

func deleteAdapter(ctx context.Context, s *adminSession, args []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.adapters.DeleteAdapter(ctx, &adminv1.DeleteAdapterRequest{Name: args[0]})
	if err != nil {
		return s.rpcError(fmt.Sprintf("delete adapter %q", args[0]), err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	_, err = fmt.Fprintf(s.stdout, "Adapter %q deleted.\n", args[0])
	return err
}

func source(src adminv1.AdapterSource) string {
	switch src {
	case adminv1.AdapterSource_ADAPTER_SOURCE_FILE:
		return "file"
	case adminv1.AdapterSource_ADAPTER_SOURCE_API:
		return "api"
	}
	return "-"
}

// headerNames lists the names of the headers an adapter injects, never their
// values.
func headerNames(a *adminv1.Adapter) string {
	var out []string
	for _, h := range a.GetHeaders() {
		out = append(out, h.GetName())
	}
	return orDash(strings.Join(out, ","))
}

func names(as []*adminv1.Adapter) string {
	var out []string
	for _, a := range as {
		out = append(out, a.GetName())
	}
	return strings.Join(out, ", ")
}
