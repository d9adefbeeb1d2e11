package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/atlas-gateway/atlas/internal/admin"
	"github.com/atlas-gateway/atlas/internal/datadir"
)

// startAdmin serves the admin gRPC API: loopback by default, a bearer token
// (ATLAS_ADMIN_TOKEN, or one generated into the data dir) or mTLS.
func startAdmin(ctx context.Context, log *slog.Logger, f runFlags, port uint32, gw *gateway, serveErr chan<- error) (*grpc.Server, error) {
	addr := f.adminAddress
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	var token string
	if f.adminCA == "" {
		t, generated, err := admin.LoadOrCreateToken(f.dataDir)
		if err != nil {
			return nil, fmt.Errorf("admin API token: %w", err)
		}
		token = t
		if generated {
			log.Info("generated an admin API token; mom reads it from there", "file", datadir.TokenFile(f.dataDir))
		}
	}
	opts := admin.ServerOptions(token, log.With("component", "admin"))
	if f.adminCert != "" {
		tlsCfg, err := admin.TLSConfig(f.adminCert, f.adminKey, f.adminCA)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	g := grpc.NewServer(opts...)
	admin.New(admin.Deps{
		Store:        gw.store,
		Fleet:        gw.xds.Fleet,
		Validate:     gw.validate,
		FileAdapter:  gw.fileAdapter,
		FileAdapters: gw.fileAdapters,
		FileConfig:   gw.fileConfig,
		Log:          log.With("component", "admin"),
	}).Register(g)
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on the admin address %s: %w (set spec.exposedPorts.adminPort or --admin-address to a free port)", addr, err)
	}
	go func() { serveErr <- g.Serve(lis) }()
	log.Info("admin API listening", "address", lis.Addr().String(), "mtls", f.adminCA != "")
	return g, nil
}
