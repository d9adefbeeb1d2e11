package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"time"

	"google.golang.org/grpc"

	"github.com/atlas-gateway/atlas/envoy"
	"github.com/atlas-gateway/atlas/internal/envoyproc"
	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/watch"
	"github.com/atlas-gateway/atlas/internal/xds"
)

func runCommand(ctx context.Context, args []string, stderr io.Writer) error {
	f, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	st, where, err := openStore(ctx, log, f.dataDir, f.storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("store opened", "store", where)

	gw := &gateway{
		log:  log,
		file: f.file,
		opts: translate.Options{Injection: translate.Injection(f.injection), ListenAddress: f.ingress, SystemCAFile: f.systemCA,
			SignatureFilter: translate.SignatureFilter(f.sigFilter)},
		xds:     xds.New(ctx, log.With("component", "xds")),
		extproc: extproc.New(log.With("component", "extproc")),
		authz:   extauthz.New(log.With("component", "extauthz")),
		store:   st,
	}
	appsSrv, err := startApps(log, f.appsAddress, st, gw) // apps.go
	if err != nil {
		return err
	}
	defer appsSrv.stop(f.drainTimeout)
	cfg, err := gw.load(ctx)
	if err != nil {
		return fmt.Errorf("%s is not a valid Atlas configuration (fix these and start again):\n%w", f.file, err)
	}
	if err := gw.apply(ctx, cfg); err != nil {
		return err
	}

	lis, err := net.Listen("tcp", f.xdsAddress)
	if err != nil {
		return fmt.Errorf("listening on --xds-address %s: %w (is another atlas running? pick a free port)", f.xdsAddress, err)
	}
	// Stream workers reuse goroutines across ext_proc streams (one per
	// request) instead of starting a goroutine for each.
	g := grpc.NewServer(grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))))
	gw.xds.Register(g)
	gw.extproc.Register(g)
	gw.authz.Register(g)
	serveErr := make(chan error, 2)
	go func() { serveErr <- g.Serve(lis) }()
	appsSrv.serve(serveErr)
	defer stopGRPC(g, f.drainTimeout)
	log.Info("control plane listening", "address", lis.Addr().String(), "injection", f.injection, "signature_filter", f.sigFilter)

	adminSrv, err := startAdmin(ctx, log, f, cfg.AdminPort, gw, serveErr)
	if err != nil {
		return err
	}
	defer stopGRPC(adminSrv, f.drainTimeout)

	raw := gw.fileConfig()
	if err := watch.File(ctx, f.file, raw, func([]byte) { gw.reload(ctx, "file") },
		func(err error) { log.Warn("config watch", "error", err) }); err != nil {
		return err
	}
	go func() {
		for range st.Changes(ctx) {
			gw.reload(ctx, "store")
		}
	}()

	var envoyDone <-chan error
	if f.envoyMode == "managed" {
		proc, err := startEnvoy(ctx, log, f, lis.Addr().String(), gw.redact.String)
		if err != nil {
			return err
		}
		defer func() {
			if err := proc.Stop(f.drainTimeout); err != nil {
				log.Warn("Envoy did not stop cleanly", "error", err)
			}
		}()
		envoyDone = proc.Done()
		log.Info("gateway ready", "url", fmt.Sprintf("http://%s/v1/apis/http/{adapter}/", net.JoinHostPort(f.ingress, fmt.Sprint(cfg.IngressPort))))
	} else {
		log.Info("serving xDS only; start Envoy with: envoy -c envoy/bootstrap.yaml --service-node NODE_ID (render one for this address with: atlas bootstrap --xds-address " + lis.Addr().String() + ")")
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-envoyDone:
		return fmt.Errorf("the managed Envoy exited unexpectedly (%v); see its log lines above", err)
	case err := <-serveErr:
		return fmt.Errorf("a gRPC server stopped: %w", err)
	}
}

func startEnvoy(ctx context.Context, log *slog.Logger, f runFlags, xdsAddr string, redact func(string) string) (*envoyproc.Process, error) {
	bin, err := envoyproc.Find(f.envoyBin)
	if err != nil {
		return nil, err
	}
	bs, err := envoy.Render(envoy.Bootstrap{NodeID: f.nodeID, Cluster: "atlas", XDSAddress: xdsAddr, AdminAddress: f.envoyAdmin})
	if err != nil {
		return nil, err
	}
	return envoyproc.Start(ctx, log, envoyproc.Options{Binary: bin, Bootstrap: bs, LogLevel: f.envoyLogLvl, Redact: redact})
}

func stopGRPC(g *grpc.Server, timeout time.Duration) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		g.Stop()
	}
}
