package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"google.golang.org/grpc"

	"github.com/atlas-gateway/atlas/envoy"
	"github.com/atlas-gateway/atlas/internal/audit"
	"github.com/atlas-gateway/atlas/internal/envoyproc"
	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/metrics"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/watch"
	"github.com/atlas-gateway/atlas/internal/xds"
)

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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

	m := metrics.New()
	auditLog, auditFile, err := audit.Open(f.auditLog, stdout)
	if err != nil {
		return err
	}
	defer auditFile.Close()
	log.Info("audit log", "destination", f.auditLog)
	procOpts := []extproc.Option{extproc.WithObserver(m)}
	authzOpts := []extauthz.Option{extauthz.WithObserver(m)}
	if auditLog.Enabled() {
		procOpts = append(procOpts, extproc.WithAuditor(auditLog))
		authzOpts = append(authzOpts, extauthz.WithAuditor(auditLog))
	}
	gw := &gateway{
		log:  log,
		file: f.file,
		opts: translate.Options{Injection: translate.Injection(f.injection), ListenAddress: f.ingress, SystemCAFile: f.systemCA,
			SignatureFilter: translate.SignatureFilter(f.sigFilter)},
		xds:     xds.New(ctx, log.With("component", "xds"), xds.WithObserver(m)),
		extproc: extproc.New(log.With("component", "extproc"), procOpts...),
		authz:   extauthz.New(log.With("component", "extauthz"), authzOpts...),
		store:   st,
		reloads: m,
	}
	appsSrv, err := startApps(log, f.appsAddress, st, gw, m) // apps.go
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
	m.Reload(metrics.TriggerStart, metrics.ResultSuccess)

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
	serveErr := make(chan error, 3) // xDS, admin and metrics servers
	go func() { serveErr <- g.Serve(lis) }()
	appsSrv.serve(serveErr)
	defer stopGRPC(g, f.drainTimeout)
	log.Info("control plane listening", "address", lis.Addr().String(), "injection", f.injection, "signature_filter", f.sigFilter)

	adminSrv, err := startAdmin(ctx, log, f, cfg.AdminPort, gw, serveErr)
	if err != nil {
		return err
	}
	defer stopGRPC(adminSrv, f.drainTimeout)

	if f.metricsAddr != "" {
		metricsSrv, err := startMetrics(log, f.metricsAddr, m, serveErr)
		if err != nil {
			return err
		}
		defer stopHTTP(metricsSrv, f.drainTimeout)
	}

	raw := gw.fileConfig()
	if err := watch.File(ctx, f.file, raw, func([]byte) { gw.reload(ctx, metrics.TriggerFile) },
		func(err error) { log.Warn("config watch", "error", err) }); err != nil {
		return err
	}
	go func() {
		for range st.Changes(ctx) {
			gw.reload(ctx, metrics.TriggerStore)
		}
	}()

	var envoyDone <-chan struct{}
	var proc *envoyproc.Process
	if f.envoyMode == "managed" {
		proc, err = startEnvoy(ctx, log, f, lis.Addr().String(), gw.redact.String)
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
	case <-envoyDone:
		return fmt.Errorf("the managed Envoy exited unexpectedly (%v); see its log lines above", proc.Err())
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

// startMetrics serves /metrics and /healthz over plain HTTP.
func startMetrics(log *slog.Logger, addr string, m *metrics.Metrics, serveErr chan<- error) (*http.Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on --metrics-address %s: %w (pick a free port, or leave it empty to disable metrics)", addr, err)
	}
	srv := &http.Server{Handler: m.Mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	log.Info("metrics listening", "url", "http://"+lis.Addr().String()+"/metrics")
	return srv, nil
}

func stopHTTP(srv *http.Server, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = srv.Shutdown(ctx)
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
