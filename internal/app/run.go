package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"time"

	"google.golang.org/grpc"

	"github.com/atlas-gateway/atlas/envoy"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/envoyproc"
	"github.com/atlas-gateway/atlas/internal/extauthz"
	"github.com/atlas-gateway/atlas/internal/extproc"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/watch"
	"github.com/atlas-gateway/atlas/internal/xds"
)

type runFlags struct {
	file         string
	injection    string
	sigFilter    string
	envoyMode    string
	envoyBin     string
	xdsAddress   string
	envoyAdmin   string
	ingress      string
	systemCA     string
	nodeID       string
	logLevel     string
	logFormat    string
	envoyLogLvl  string
	drainTimeout time.Duration
}

func parseRunFlags(args []string, stderr io.Writer) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("atlas run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.file, "f", "", "Atlas configuration file (required); edits are applied live")
	fs.StringVar(&f.injection, "injection", "static", "how adapter headers are injected: static (Envoy credential_injector + SDS, no extra hop) or extproc (Atlas ext_proc service)")
	fs.StringVar(&f.sigFilter, "signature-filter", "extproc", "Envoy filter that verifies Stripe App signatures on adapters with spec.stripeApp: extproc or extauthz")
	fs.StringVar(&f.envoyMode, "envoy", "managed", "managed: start and supervise a local Envoy; external: serve xDS only, for Envoys started with envoy/bootstrap.yaml")
	fs.StringVar(&f.envoyBin, "envoy-bin", "", "Envoy binary (default: $ENVOY_BIN, then envoy on PATH, then .tools/ from make envoy)")
	fs.StringVar(&f.xdsAddress, "xds-address", "127.0.0.1:18000", "address of the control plane gRPC server (xDS, ext_proc)")
	fs.StringVar(&f.envoyAdmin, "envoy-admin-address", "127.0.0.1:9901", "managed Envoy's admin listener")
	fs.StringVar(&f.ingress, "ingress-address", "127.0.0.1", "IP the gateway listener binds (use 0.0.0.0 in a container); the port is spec.exposedPorts.ingressHttpPort")
	fs.StringVar(&f.systemCA, "system-ca-file", translate.DefaultSystemCAFile, "CA bundle on the Envoy host used to verify https upstreams without spec.tls.caFile")
	fs.StringVar(&f.nodeID, "node-id", "atlas-managed", "node id of the managed Envoy")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	fs.StringVar(&f.envoyLogLvl, "envoy-log-level", "warning", "managed Envoy's --log-level")
	fs.DurationVar(&f.drainTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for Envoy and open streams")
	if err := fs.Parse(args); err != nil {
		return f, ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "atlas run: unexpected argument %q (the config file goes after -f)\n", fs.Arg(0))
		return f, ErrUsage
	}
	if f.file == "" {
		fmt.Fprintln(stderr, "atlas run: -f FILE is required, e.g. atlas run -f examples/sandbox/atlas.yml")
		return f, ErrUsage
	}
	if f.injection != string(translate.InjectionStatic) && f.injection != string(translate.InjectionExtProc) {
		fmt.Fprintf(stderr, "atlas run: --injection %q: use static or extproc\n", f.injection)
		return f, ErrUsage
	}
	if f.sigFilter != string(translate.SignatureExtProc) && f.sigFilter != string(translate.SignatureExtAuthz) {
		fmt.Fprintf(stderr, "atlas run: --signature-filter %q: use extproc or extauthz\n", f.sigFilter)
		return f, ErrUsage
	}
	if f.envoyMode != "managed" && f.envoyMode != "external" {
		fmt.Fprintf(stderr, "atlas run: --envoy %q: use managed or external\n", f.envoyMode)
		return f, ErrUsage
	}
	if f.logFormat == "" {
		f.logFormat = "json"
		if stderrIsTerminal() {
			f.logFormat = "text"
		}
	}
	return f, nil
}

func runCommand(ctx context.Context, args []string, stderr io.Writer) error {
	f, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(f.file)
	if err != nil {
		return fmt.Errorf("reading the Atlas configuration: %w", err)
	}
	cfg, err := config.Parse(f.file, raw, config.Options{})
	if err != nil {
		return fmt.Errorf("%s is not a valid Atlas configuration (fix these and start again):\n%w", f.file, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	gw := &gateway{
		log:  log,
		file: f.file,
		opts: translate.Options{Injection: translate.Injection(f.injection), ListenAddress: f.ingress, SystemCAFile: f.systemCA,
			SignatureFilter: translate.SignatureFilter(f.sigFilter)},
		xds:     xds.New(ctx, log.With("component", "xds")),
		extproc: extproc.New(log.With("component", "extproc")),
		authz:   extauthz.New(log.With("component", "extauthz")),
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
	serveErr := make(chan error, 1)
	go func() { serveErr <- g.Serve(lis) }()
	log.Info("control plane listening", "address", lis.Addr().String(), "injection", f.injection)

	if err := watch.File(ctx, f.file, raw, func([]byte) { gw.reload(ctx) },
		func(err error) { log.Warn("config watch", "error", err) }); err != nil {
		g.Stop()
		return err
	}

	var proc *envoyproc.Process
	if f.envoyMode == "managed" {
		proc, err = startEnvoy(ctx, log, f, lis.Addr().String(), gw.redact.String)
		if err != nil {
			g.Stop()
			return err
		}
		log.Info("gateway ready", "url", fmt.Sprintf("http://%s/v1/apis/http/{adapter}/", net.JoinHostPort(f.ingress, fmt.Sprint(cfg.IngressPort))))
	} else {
		log.Info("serving xDS only; start Envoy with: envoy -c envoy/bootstrap.yaml --service-node NODE_ID (render one for this address with: atlas bootstrap --xds-address " + lis.Addr().String() + ")")
	}

	var envoyDone <-chan error
	if proc != nil {
		envoyDone = proc.Done()
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-envoyDone:
		runErr = fmt.Errorf("the managed Envoy exited unexpectedly (%v); see its log lines above", err)
		proc = nil
	case err := <-serveErr:
		runErr = fmt.Errorf("control plane gRPC server stopped: %w", err)
	}
	if proc != nil {
		if err := proc.Stop(f.drainTimeout); err != nil {
			log.Warn("Envoy did not stop cleanly", "error", err)
		}
	}
	stopGRPC(g, f.drainTimeout)
	return runErr
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
