package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/store"
)

// Limits of SecretService, as documented in secret_service.proto.
const (
	maxSecretName  = 128
	maxSecretValue = 8 << 10
)

// secretService is SecretService. Values only go in: no response and no log
// line carries one.
type secretService struct {
	adminv1.UnimplementedSecretServiceServer
	s *Server
}

func (x *secretService) SetSecret(ctx context.Context, req *adminv1.SetSecretRequest) (*adminv1.SetSecretResponse, error) {
	var vs []violation
	if why := secretNameProblem(req.GetName()); why != "" {
		vs = append(vs, violation{"name", why})
	}
	if why := secretValueProblem(req.GetValue()); why != "" {
		vs = append(vs, violation{"value", why})
	}
	if len(vs) > 0 {
		return nil, invalidArgument("secret was not set", vs...)
	}
	meta, created, err := x.s.d.Store.SetSecret(ctx, req.GetName(), req.GetValue())
	if err != nil {
		return nil, storeError(ctx, x.s, "save the secret", err)
	}
	x.s.logger(ctx).Info("secret set", "secret", meta.Name, "size_bytes", meta.Size, "created", created)
	return &adminv1.SetSecretResponse{Secret: secretProto(meta), Created: created}, nil
}

func (x *secretService) ListSecrets(ctx context.Context, _ *adminv1.ListSecretsRequest) (*adminv1.ListSecretsResponse, error) {
	metas, err := x.s.d.Store.ListSecrets(ctx)
	if err != nil {
		return nil, storeError(ctx, x.s, "list secrets", err)
	}
	out := make([]*adminv1.SecretMetadata, 0, len(metas))
	for _, m := range metas {
		out = append(out, secretProto(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return &adminv1.ListSecretsResponse{Secrets: out}, nil
}

func (x *secretService) DeleteSecret(ctx context.Context, req *adminv1.DeleteSecretRequest) (*adminv1.DeleteSecretResponse, error) {
	name := req.GetName()
	if why := secretNameProblem(name); why != "" {
		return nil, invalidArgument("invalid secret name", violation{"name", why})
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	users, err := x.s.secretUsers(ctx, name)
	if err != nil {
		return nil, storeError(ctx, x.s, "list adapters", err)
	}
	if len(users) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "secret %s is still referenced as ${{ secret:%s }} by %s; remove those references first (apply the adapters without it, or edit the file), then delete the secret", name, name, strings.Join(users, ", "))
	}
	if err := x.s.d.Store.DeleteSecret(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, status.Errorf(codes.NotFound, "secret %s does not exist; `mom atlas secrets list` shows the existing ones", name)
		}
		return nil, storeError(ctx, x.s, "delete the secret", err)
	}
	x.s.logger(ctx).Info("secret deleted", "secret", name)
	return &adminv1.DeleteSecretResponse{}, nil
}

// secretUsers names what references ${{ secret:NAME }}: API adapters, file
// adapters, and the file itself when the reference is elsewhere in it.
func (s *Server) secretUsers(ctx context.Context, name string) ([]string, error) {
	stored, err := s.d.Store.ListAdapters(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, a := range stored {
		if refersToSecret(string(a.Document), name) {
			users = append(users, fmt.Sprintf("API adapter %q", a.Name))
		}
	}
	inFileAdapter := false
	for _, f := range s.d.FileAdapters() {
		texts := []string{f.BaseURL}
		for _, h := range f.Headers {
			texts = append(texts, h.Name, h.Template)
		}
		if refersToSecret(strings.Join(texts, "\n"), name) {
			users = append(users, fmt.Sprintf("file adapter %q (%s)", f.Name, f.Source))
			inFileAdapter = true
		}
	}
	if !inFileAdapter && refersToSecret(string(s.d.FileConfig()), name) {
		users = append(users, "the configuration file")
	}
	sort.Strings(users)
	return users, nil
}

// refersToSecret reports whether text holds ${{ secret:NAME }}, spaced in
// any way the configuration accepts.
func refersToSecret(text, name string) bool {
	return slices.Contains(config.SecretRefs(text), name)
}

// secretNameProblem applies the environment-variable name rule.
func secretNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty; name the secret as you will reference it, e.g. STRIPE_API_KEY in ${{ secret:STRIPE_API_KEY }}"
	case len(name) > maxSecretName:
		return fmt.Sprintf("is %d characters long; use at most %d", len(name), maxSecretName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			// The name is not echoed: a value pasted by mistake would be.
			return fmt.Sprintf("has a character not allowed at offset %d: use letters, digits and _, not starting with a digit (like an environment variable name)", i)
		}
	}
	return ""
}

// secretValueProblem checks that a value can go into an HTTP header. The
// message gives positions only: the value is the secret.
func secretValueProblem(v []byte) string {
	switch {
	case len(v) == 0:
		return "is empty; send the secret's value (mom reads it from stdin)"
	case len(v) > maxSecretValue:
		return fmt.Sprintf("is %d bytes long; a secret is at most %d bytes", len(v), maxSecretValue)
	}
	for i, c := range v {
		switch {
		case c == '\r', c == '\n', c == 0:
			return fmt.Sprintf("contains a CR, LF or NUL byte at offset %d; it is sent in an HTTP header, so remove it (often a trailing newline: use printf, not echo)", i)
		case c < 0x20 && c != '\t', c == 0x7f:
			return fmt.Sprintf("contains a control character at offset %d; it is sent in an HTTP header, so remove it", i)
		}
	}
	return ""
}

func secretProto(m store.SecretMeta) *adminv1.SecretMetadata {
	out := &adminv1.SecretMetadata{Name: m.Name, SizeBytes: int64(m.Size)}
	if !m.CreatedAt.IsZero() {
		out.CreateTime = timestamppb.New(m.CreatedAt)
	}
	if !m.UpdatedAt.IsZero() {
		out.UpdateTime = timestamppb.New(m.UpdatedAt)
	}
	return out
}
