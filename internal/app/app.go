// Package app is the atlas command: flag parsing and the wiring of config,
// translation, the xDS and ext_proc servers, the file watcher and the managed
// Envoy. cmd/atlas only turns signals into a context and calls Main.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/atlas-gateway/atlas/envoy"
	"github.com/atlas-gateway/atlas/internal/config"
)

// Version is set at build time with -ldflags "-X …/internal/app.Version=…".
var Version = "dev"

const usage = `atlas: a self-hosted API gateway on Envoy.

Usage:
  atlas run -f FILE [flags]       serve FILE's adapters through a managed Envoy
  atlas validate -f FILE          check FILE and print every problem
  atlas bootstrap [flags]         print an Envoy bootstrap for a sidecar Envoy
  atlas version

Run "atlas COMMAND -h" for a command's flags.
`

// ErrUsage marks a command-line mistake; the caller exits with status 2.
var ErrUsage = errors.New("usage error")

// Main runs the atlas command with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "validate":
		return validateCommand(args[1:], stdout, stderr)
	case "bootstrap":
		return bootstrapCommand(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "atlas", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "atlas: unknown command %q\n\n%s", args[0], usage)
		return ErrUsage
	}
}

func validateCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("atlas validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "Atlas configuration file (required)")
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "atlas validate: -f FILE is required")
		return ErrUsage
	}
	cfg, err := config.Load(*file, config.Options{})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	names := make([]string, 0, len(cfg.Adapters))
	for _, a := range cfg.Adapters {
		names = append(names, a.Name)
	}
	fmt.Fprintf(stdout, "%s is valid: %d adapter(s) [%s], ingress port %d\n", *file, len(cfg.Adapters), strings.Join(names, ", "), cfg.IngressPort)
	return nil
}

func bootstrapCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("atlas bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := envoy.Defaults()
	fs.StringVar(&d.XDSAddress, "xds-address", d.XDSAddress, "Atlas control plane gRPC address the Envoy connects to (host:port)")
	fs.StringVar(&d.NodeID, "node-id", d.NodeID, "Envoy node id (unique per Envoy; Envoy's --service-node overrides it)")
	fs.StringVar(&d.Cluster, "cluster", d.Cluster, "Envoy node cluster")
	fs.StringVar(&d.AdminAddress, "admin-address", d.AdminAddress, "Envoy admin listener (keep it on loopback)")
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	out, err := envoy.Render(d)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// stderrIsTerminal is used only to pick a friendlier default log format.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
