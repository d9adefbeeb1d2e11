// Package mom is the `mom` command line tool: it edits Atlas configuration
// files (`mom atlas config add-http-adapter`) and sends test requests through
// a running gateway (`mom curl`).
//
// Main is the whole program; cmd/mom only wires the process's arguments,
// standard streams and signals into it, so tests call Main with buffers.
// Exit codes: 0 success, 1 the command failed, 2 bad usage.
package mom

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `mom is Atlas's command line tool.

Usage:
  mom atlas config add-http-adapter -f FILE --adapter-name NAME --base-url URL [-H 'Name: value']...
      Add an HTTP adapter to an Atlas configuration file.
` + adminUsage + `  mom curl PATH [-X METHOD] [-H 'Name: value']... [-d DATA|@FILE] [-i] [--base-url URL]
      Send a request through the gateway, e.g. mom curl /v1/apis/http/stripe/v1/charges
  mom help [COMMAND]
      Show help.

Run 'mom COMMAND --help' for a command's flags.
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// env is the process environment mom reads; Main passes os.LookupEnv.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

// Main runs mom with args (without the program name) and returns the exit
// code. ctx cancels a running request.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: os.LookupEnv}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return e.help(args[1:])
	case "curl":
		return e.curl(ctx, args[1:])
	case "atlas":
		return e.atlas(ctx, args[1:])
	default:
		fmt.Fprintf(e.stderr, "mom: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

func (e *env) help(topic []string) int {
	switch strings.Join(topic, " ") {
	case "":
		fmt.Fprint(e.stderr, usage)
	case "curl":
		e.curlFlags(&curlOptions{}).Usage()
	case "atlas", "atlas config", "atlas config add-http-adapter", "add-http-adapter":
		e.addAdapterFlags(&addAdapterOptions{}).Usage()
	default:
		fmt.Fprintf(e.stderr, "mom: no help for %q\n\n%s", strings.Join(topic, " "), usage)
		return exitUsage
	}
	return exitOK
}

func (e *env) atlas(ctx context.Context, args []string) int {
	const sub = "Usage: mom atlas config add-http-adapter -f FILE --adapter-name NAME --base-url URL [-H 'Name: value']...\n"
	switch {
	case isAdminCommand(args):
		return e.admin(ctx, args)
	case len(args) == 0 || args[0] != "config":
		fmt.Fprintf(e.stderr, "mom atlas: expected the config command\n%s", sub)
		return exitUsage
	case len(args) == 1 || args[1] != "add-http-adapter":
		fmt.Fprintf(e.stderr, "mom atlas config: expected the add-http-adapter command\n%s", sub)
		return exitUsage
	}
	return e.addHTTPAdapter(ctx, args[2:])
}

// parseFlags parses args with fs and maps the outcome to an exit code:
// ok=false means the caller returns code at once.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false // the flag package already printed the error and usage
	}
	return exitOK, true
}

// fail prints "mom: err" and returns the failure exit code.
func (e *env) fail(err error) int {
	fmt.Fprintf(e.stderr, "mom: %v\n", err)
	return exitError
}

// usageError prints a usage problem for fs and returns the usage exit code.
func (e *env) usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "mom %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
