package mom

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

// The admin commands (`mom atlas adapters|secrets|status|config export`) are
// clients of a running server's admin gRPC API. Each command is one entry in
// adminCommands; they share the connection flags of adminOptions.

// DefaultAdminAddr is the admin API address unless --admin or
// ATLAS_ADMIN_ADDR says otherwise: the default adminPort on loopback.
const DefaultAdminAddr = "127.0.0.1:9000"

// envAdminAddr overrides DefaultAdminAddr.
const envAdminAddr = "ATLAS_ADMIN_ADDR"

const adminUsage = `  mom atlas adapters list|get NAME|apply -f FILE|delete NAME [--admin ADDR] [-o table|json]
      Manage the HTTP adapters of a running Atlas through its admin API.
  mom atlas secrets set NAME|list|delete NAME [--admin ADDR] [-o table|json]
      Manage stored secrets (${{ secret:NAME }}); set reads the value from stdin.
  mom atlas status [--admin ADDR] [-o table|json]
      Show the connected Envoys and whether they accepted their configuration.
  mom atlas config export [--admin ADDR] [-o json]
      Print the running configuration as Atlas YAML.
`

// adminCommand is one admin subcommand.
type adminCommand struct {
	path    string // words after "mom atlas", e.g. "adapters get"
	args    string // positional arguments in usage, e.g. "NAME"
	nargs   int    // how many positional arguments it takes
	file    bool   // takes -f FILE
	summary string
	run     func(ctx context.Context, s *adminSession, args []string) error
}

var adminCommands = []adminCommand{
	{path: "adapters list", run: listAdapters,
		summary: "Lists every adapter, from the configuration file and from the API."},
	{path: "adapters get", args: "NAME", nargs: 1, run: getAdapter,
		summary: "Shows one adapter. Header values are shown as templates: ${{ … }} references stay unexpanded."},
	{path: "adapters apply", file: true, run: applyAdapters,
		summary: "Creates or replaces the adapters in FILE: one or more Moment `kind: HTTP` adapter documents\n(apiVersion moment.dev/adapters/v1alpha1). -f - reads standard input. Adapters from the\nserver's configuration file are read-only here."},
	{path: "adapters delete", args: "NAME", nargs: 1, run: deleteAdapter,
		summary: "Deletes an adapter created through the API."},
	{path: "secrets set", args: "NAME", nargs: 1, run: setSecret,
		summary: "Creates or replaces a secret, referenced from adapter headers as ${{ secret:NAME }}.\nThe value is read from standard input (one trailing newline is removed), never from a flag:\n  printf %s \"$STRIPE_API_KEY\" | mom atlas secrets set STRIPE_API_KEY\nOn a terminal, mom asks for it without echoing it."},
	{path: "secrets list", run: listSecrets,
		summary: "Lists the stored secrets' names and sizes; values are never shown."},
	{path: "secrets delete", args: "NAME", nargs: 1, run: deleteSecret,
		summary: "Deletes a secret that no adapter references any more."},
	{path: "status", run: fleetStatus,
		summary: "Lists the Envoys connected to this Atlas replica and, per xDS type, the version last sent,\nthe version last accepted, and ACK/NACK/PENDING with Envoy's error text for a NACK."},
	{path: "config export", run: exportConfig,
		summary: "Prints the whole running configuration (file and API adapters) as Atlas YAML.\nHeader values keep their ${{ … }} references, so no secret appears."},
}

// isAdminCommand reports whether args (after "mom atlas") name an admin
// command, so mom.go can route them here.
func isAdminCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "adapters", "secrets", "status":
		return true
	case "config":
		return len(args) > 1 && args[1] == "export"
	}
	return false
}

// adminOptions are the flags every admin command shares, plus -f for apply.
type adminOptions struct {
	addr, dataDir, output  string
	tlsCA, tlsCert, tlsKey string
	file                   string
}

func (e *env) adminFlags(c *adminCommand, o *adminOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("atlas "+c.path, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr, ok := e.lookupEnv(envAdminAddr)
	if !ok || addr == "" {
		addr = DefaultAdminAddr
	}
	fs.StringVar(&o.addr, "admin", addr, "admin API `ADDR` (host:port; $"+envAdminAddr+" overrides the default)")
	fs.StringVar(&o.dataDir, "data-dir", datadir.Default(), "the server's data `DIR`, where mom reads the admin token unless $"+datadir.EnvAdminToken+" is set")
	fs.StringVar(&o.output, "o", "table", "output `FORMAT`: table or json")
	fs.StringVar(&o.output, "output", "table", "same as -o")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM `FILE` of CAs that sign the admin server's certificate; enables TLS")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "client certificate PEM `FILE` for mTLS (with --tls-key); enables TLS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "client private key PEM `FILE` for mTLS (with --tls-cert)")
	if c.file {
		fs.StringVar(&o.file, "f", "", "`FILE` of adapter documents to apply; - reads standard input (required)")
		fs.StringVar(&o.file, "file", "", "same as -f")
	}
	fs.Usage = func() {
		line := "mom atlas " + c.path
		if c.file {
			line += " -f FILE"
		}
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(fs.Output(), "Usage: %s [--admin ADDR] [-o table|json]\n\n%s\n\nThe token is $%s, else the file %s that the server writes on its first start.\n\nFlags:\n",
			line, c.summary, datadir.EnvAdminToken, datadir.TokenFile("DIR"))
		fs.PrintDefaults()
	}
	return fs
}

// admin runs an admin command; args start after "mom atlas".
func (e *env) admin(ctx context.Context, args []string) int {
	c, rest, code, ok := e.findAdminCommand(args)
	if !ok {
		return code
	}
	var o adminOptions
	fs := e.adminFlags(c, &o)
	positional, code, ok := parseInterleaved(fs, rest)
	if !ok {
		return code
	}
	switch {
	case len(positional) != c.nargs && c.nargs == 0:
		return e.usageError(fs, "unexpected argument %q", positional[0])
	case len(positional) != c.nargs:
		return e.usageError(fs, "want %s, got %d arguments", c.args, len(positional))
	case o.output != "table" && o.output != "json":
		return e.usageError(fs, "-o must be table or json, not %q", o.output)
	case c.file && o.file == "":
		return e.usageError(fs, "-f FILE is required")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return e.usageError(fs, "--tls-cert and --tls-key go together")
	case strings.TrimSpace(o.addr) == "":
		return e.usageError(fs, "--admin must not be empty")
	}
	s, err := e.newAdminSession(o)
	if err != nil {
		return e.fail(err)
	}
	defer s.close()
	if err := c.run(ctx, s, positional); err != nil {
		return e.fail(err)
	}
	return exitOK
}

// findAdminCommand matches the leading words of args against adminCommands.
func (e *env) findAdminCommand(args []string) (c *adminCommand, rest []string, code int, ok bool) {
	for i := range adminCommands {
		words := strings.Fields(adminCommands[i].path)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == adminCommands[i].path {
			return &adminCommands[i], args[len(words):], exitOK, true
		}
	}
	group := args[0]
	var subs []string
	for _, c := range adminCommands {
		if sub, found := strings.CutPrefix(c.path, group+" "); found {
			subs = append(subs, sub)
		}
	}
	if len(args) > 1 && (args[1] == "-h" || args[1] == "-help" || args[1] == "--help") {
		fmt.Fprintf(e.stderr, "Usage: mom atlas %s %s ...\nRun 'mom atlas %s COMMAND --help' for a command's flags.\n", group, strings.Join(subs, "|"), group)
		return nil, nil, exitOK, false
	}
	got := "nothing"
	if len(args) > 1 {
		got = fmt.Sprintf("%q", args[1])
	}
	fmt.Fprintf(e.stderr, "mom atlas %s: expected one of %s, got %s\n\nUsage:\n%s", group, strings.Join(subs, ", "), got, adminUsage)
	return nil, nil, exitUsage, false
}
