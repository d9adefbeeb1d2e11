package app

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/atlas-gateway/atlas/internal/datadir"
	"github.com/atlas-gateway/atlas/internal/translate"
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
	dataDir      string
	storeURL     string
	adminAddress string
	adminCert    string
	adminKey     string
	adminCA      string
	appsAddress  string
	metricsAddr  string
	auditLog     string
}

func parseRunFlags(args []string, stderr io.Writer) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("atlas run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.file, "f", "", "Atlas configuration file (required); edits are applied live")
	fs.StringVar(&f.injection, "injection", "static", "how adapter headers are injected: static (Envoy credential_injector in each adapter's cluster + SDS, no extra hop) or extproc (Atlas ext_proc service)")
	fs.StringVar(&f.sigFilter, "signature-filter", "extproc", "Envoy filter that verifies Stripe App signatures on adapters with spec.stripeApp: extproc or extauthz")
	fs.StringVar(&f.envoyMode, "envoy", "managed", "managed: start and supervise a local Envoy; external: serve xDS only, for Envoys started with envoy/bootstrap.yaml")
	fs.StringVar(&f.envoyBin, "envoy-bin", "", "Envoy binary (default: $ENVOY_BIN, then envoy on PATH, then .tools/ from make envoy)")
	fs.StringVar(&f.xdsAddress, "xds-address", "127.0.0.1:18000", "address of the control plane gRPC server (xDS, ext_proc, ext_authz)")
	fs.StringVar(&f.envoyAdmin, "envoy-admin-address", "127.0.0.1:9901", "managed Envoy's admin listener")
	fs.StringVar(&f.ingress, "ingress-address", "127.0.0.1", "IP the gateway listener binds (use 0.0.0.0 in a container); the port is spec.exposedPorts.ingressHttpPort")
	fs.StringVar(&f.systemCA, "system-ca-file", translate.DefaultSystemCAFile, "CA bundle on the Envoy host used to verify https upstreams without spec.tls.caFile")
	fs.StringVar(&f.nodeID, "node-id", "atlas-managed", "node id of the managed Envoy")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	fs.StringVar(&f.envoyLogLvl, "envoy-log-level", "warning", "managed Envoy's --log-level")
	fs.DurationVar(&f.drainTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for Envoy and open streams")
	fs.StringVar(&f.dataDir, "data-dir", datadir.Default(), "state directory: embedded store, master key, admin token (env "+datadir.EnvDir+")")
	fs.StringVar(&f.storeURL, "store", "", "postgres://… to share state between replicas (default: the embedded SQLite file in --data-dir)")
	fs.StringVar(&f.adminAddress, "admin-address", "", "admin gRPC API address (default 127.0.0.1:spec.exposedPorts.adminPort)")
	fs.StringVar(&f.adminCert, "admin-tls-cert", "", "serve the admin API over TLS with this certificate (with --admin-tls-key)")
	fs.StringVar(&f.adminKey, "admin-tls-key", "", "private key for --admin-tls-cert")
	fs.StringVar(&f.adminCA, "admin-client-ca", "", "require admin clients to present a certificate signed by this CA (mTLS); then no token is needed")
	fs.StringVar(&f.appsAddress, "apps-address", DefaultAppsAddress, "loopback IP:PORT of the apps server (Stripe App Secret Store, OAuth), which Envoy reaches for /v1/apps/, /v1/oauth/ and /v1/apis/oauth/; empty turns it off")
	fs.StringVar(&f.metricsAddr, "metrics-address", "", "serve Prometheus /metrics and /healthz over HTTP on this address, e.g. 127.0.0.1:9102 (default: off)")
	fs.StringVar(&f.auditLog, "audit-log", "stdout", "audit log of signature checks, one JSON line each: stdout, off, or a file path (appended, mode 0600)")
	if err := fs.Parse(args); err != nil {
		return f, ErrUsage
	}
	return f, f.check(fs, stderr)
}

func (f *runFlags) check(fs *flag.FlagSet, stderr io.Writer) error {
	fail := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "atlas run: "+format+"\n", a...)
		return ErrUsage
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q (the config file goes after -f)", fs.Arg(0))
	case f.file == "":
		return fail("-f FILE is required, e.g. atlas run -f examples/sandbox/atlas.yml")
	case f.injection != string(translate.InjectionStatic) && f.injection != string(translate.InjectionExtProc):
		return fail("--injection %q: use static or extproc", f.injection)
	case f.sigFilter != string(translate.SignatureExtProc) && f.sigFilter != string(translate.SignatureExtAuthz):
		return fail("--signature-filter %q: use extproc or extauthz", f.sigFilter)
	case f.envoyMode != "managed" && f.envoyMode != "external":
		return fail("--envoy %q: use managed or external", f.envoyMode)
	case (f.adminCert == "") != (f.adminKey == ""):
		return fail("--admin-tls-cert and --admin-tls-key go together")
	case f.adminCA != "" && f.adminCert == "":
		return fail("--admin-client-ca needs --admin-tls-cert and --admin-tls-key")
	case f.auditLog == "":
		return fail("--audit-log is empty: use stdout, off, or a file path")
	}
	if f.logFormat == "" {
		f.logFormat = "json"
		if stderrIsTerminal() {
			f.logFormat = "text"
		}
	}
	return nil
}
