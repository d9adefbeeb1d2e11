package admin

import (
	"context"
	"sort"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/configedit"
)

// configService is ConfigService.
type configService struct {
	adminv1.UnimplementedConfigServiceServer
	s *Server
}

// ExportConfig is the file byte for byte, plus an adapterRef and the stored
// document of every API adapter, sorted by name: a file `atlas run -f`
// serves the same way. References stay unexpanded, so it holds no secret.
func (c *configService) ExportConfig(ctx context.Context, _ *adminv1.ExportConfigRequest) (*adminv1.ExportConfigResponse, error) {
	out := c.s.d.FileConfig()
	if len(out) == 0 {
		return nil, status.Error(codes.FailedPrecondition, "the server has no configuration file loaded; start it with `atlas run -f FILE`")
	}
	stored, err := c.s.d.Store.ListAdapters(ctx)
	if err != nil {
		return nil, storeError(ctx, c.s, "list adapters", err)
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].Name < stored[j].Name })
	for _, a := range stored {
		out, err = configedit.AddAdapterDocument(out, a.Name, a.Document)
		if err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "cannot add API adapter %q to the exported file: %v", a.Name, err)
		}
	}
	return &adminv1.ExportConfigResponse{Yaml: out}, nil
}
