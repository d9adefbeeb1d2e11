// Command scale measures the Atlas control plane at scale, in process and
// without Envoy (see docs/benchmarks.md, "Control plane scale"):
//
//   - translate: Translate + xds.Server.Publish of a config with -adapters
//     adapters (static and ext_proc injection), -repeat times in one
//     process, and that process's peak RSS;
//   - fanout: -clients ADS streams (one gRPC connection and node id each,
//     speaking delta ADS like Envoy with api_type DELTA_GRPC, or SotW with
//     -protocol sotw; see client.go) on the real xds.Server; one adapter is
//     added and Published, and the time until the server has seen every
//     stream ACK what changed (see ackwait.go) is measured, -repeat times,
//     over a small baseline config (-small adapters) and over -adapters
//     adapters.
//
// Every case runs in a fresh child process (this binary re-executed with
// -child) so that its peak RSS is its own. Run it from the repository root:
//
//	go run ./test/scale [-adapters 10000] [-clients 200] [-repeat 5] [-scenario all] [-protocol delta] [-json FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/atlas-gateway/atlas/internal/translate"
)

type options struct {
	adapters   int
	clients    int
	repeat     int
	small      int
	scenarios  []string
	tclients   int
	protocol   string
	clientMode string
	sds        string
	jsonOut    string
	profileDir string
	timeout    time.Duration
	injections []translate.Injection
	fanoutCase []string

	child    string
	childOut string
	addr     string
	xdsLog   bool
}

// Targets from issue #4, "Benchmark".
const (
	targetTranslateMS = 1000.0
	targetRSSMB       = 300.0
	targetFanoutMS    = 1000.0
)

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.IntVar(&o.adapters, "adapters", 10000, "adapters in the large config (translate, and the large fanout baseline)")
	fs.IntVar(&o.clients, "clients", 200, "ADS client streams in the fanout scenario")
	fs.IntVar(&o.repeat, "repeat", 5, "repetitions of each measurement inside one process")
	fs.IntVar(&o.small, "small", 100, "adapters in the small fanout baseline")
	scen := fs.String("scenario", "all", "comma-separated: translate, fanout, or all")
	inj := fs.String("injection", "static,extproc", "injection modes for the translate scenario")
	fc := fs.String("fanout-cases", "small:static,small:static:phased,large:static,large:static:phased,large:extproc",
		"fanout cases, baseline:injection[:phased] (baseline small = -small adapters, large = -adapters; phased = the make-before-break publish of internal/rollout)")
	fs.IntVar(&o.tclients, "tclients", 1, "ADS clients connected during the translate scenario (their delivery time is reported, not judged)")
	fs.StringVar(&o.protocol, "protocol", protocolDelta, "ADS variant the clients speak: delta (DeltaAggregatedResources, as Envoy with api_type DELTA_GRPC) or sotw (StreamAggregatedResources)")
	fs.StringVar(&o.clientMode, "client", clientLight, "light: decode only each response's envelope and resource names, and walk listeners and clusters just to the names they reference; full: decode every response and resource with the generated protobuf code")
	fs.StringVar(&o.sds, "sds", sdsNamed, "named: subscribe RDS/SDS by the names listeners and clusters reference, as Envoy does; wildcard: subscribe all four types with no names")
	fs.StringVar(&o.jsonOut, "json", "", "write every raw number as JSON to this file")
	fs.StringVar(&o.profileDir, "profile", "", "write CPU and heap pprof profiles of each case's measured phase to this directory")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "give up on one round after this long")
	fs.StringVar(&o.child, "child", "", "internal: run one case in this process")
	fs.StringVar(&o.childOut, "child-out", "", "internal: where the child writes its result")
	fs.BoolVar(&o.xdsLog, "xds-log", false, "print the xDS server's info+ log lines (normally discarded, as a production log would be elsewhere) to stderr")
	fs.StringVar(&o.addr, "addr", "", "internal: the xDS server the clients process connects to")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags only; see -h)", fs.Args())
	}
	for _, s := range strings.Split(*scen, ",") {
		switch s = strings.TrimSpace(s); s {
		case "all":
			o.scenarios = append(o.scenarios, "translate", "fanout")
		case "translate", "fanout":
			o.scenarios = append(o.scenarios, s)
		default:
			return nil, fmt.Errorf("-scenario %q: use translate, fanout or all", s)
		}
	}
	for _, s := range strings.Split(*inj, ",") {
		i := translate.Injection(strings.TrimSpace(s))
		if i != translate.InjectionStatic && i != translate.InjectionExtProc {
			return nil, fmt.Errorf("-injection %q: use static and/or extproc", s)
		}
		o.injections = append(o.injections, i)
	}
	for _, s := range strings.Split(*fc, ",") {
		s = strings.TrimSpace(s)
		f := strings.Split(s, ":")
		if len(f) < 2 || len(f) > 3 || (f[0] != "small" && f[0] != "large") ||
			(f[1] != string(translate.InjectionStatic) && f[1] != string(translate.InjectionExtProc)) ||
			(len(f) == 3 && (f[2] != "phased" || f[1] != string(translate.InjectionStatic))) {
			return nil, fmt.Errorf("-fanout-cases %q: use small|large:static|extproc, or small|large:static:phased", s)
		}
		o.fanoutCase = append(o.fanoutCase, s)
	}
	if o.protocol != protocolDelta && o.protocol != protocolSotW {
		return nil, fmt.Errorf("-protocol %q: use delta or sotw", o.protocol)
	}
	if o.clientMode != clientLight && o.clientMode != clientFull {
		return nil, fmt.Errorf("-client %q: use light or full", o.clientMode)
	}
	if o.sds != sdsNamed && o.sds != sdsWildcard {
		return nil, fmt.Errorf("-sds %q: use named or wildcard", o.sds)
	}
	if o.adapters < 1 || o.clients < 1 || o.repeat < 1 || o.small < 1 {
		return nil, errors.New("-adapters, -clients, -repeat and -small must be at least 1")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.child == "clients" {
		if err := runClientsProc(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "scale clients:", err)
			os.Exit(1)
		}
		return
	}
	if o.child != "" {
		if err := runChild(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "scale child:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// caseSpec is "translate:static" or "fanout:large:extproc".
func runChild(ctx context.Context, o *options) error {
	parts := strings.Split(o.child, ":")
	var res *caseResult
	var err error
	switch {
	case len(parts) == 2 && parts[0] == "translate":
		res, err = runTranslate(ctx, o, translate.Injection(parts[1]), o.child)
	case (len(parts) == 3 || len(parts) == 4) && parts[0] == "fanout":
		base := o.small
		if parts[1] == "large" {
			base = o.adapters
		}
		res, err = runFanout(ctx, o, base, translate.Injection(parts[2]), len(parts) == 4, o.child)
	default:
		return fmt.Errorf("unknown case %q", o.child)
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(o.childOut, b, 0o600)
}

func runParent(ctx context.Context, o *options) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	var cases []string
	for _, s := range o.scenarios {
		switch s {
		case "translate":
			for _, i := range o.injections {
				cases = append(cases, "translate:"+string(i))
			}
		case "fanout":
			for _, c := range o.fanoutCase {
				cases = append(cases, "fanout:"+c)
			}
		}
	}
	cases = slices.Compact(cases)
	tmp, err := os.MkdirTemp("", "atlas-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rep := &report{
		StartedAt: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Adapters: o.adapters, Small: o.small, Clients: o.clients, Repeat: o.repeat,
		TClients: o.tclients, Protocol: o.protocol, ClientMode: o.clientMode, SDS: o.sds, LoadAvg: loadAvg(),
	}
	fmt.Fprintf(os.Stderr, "scale: %d cases, %d repetitions each; load average %s\n", len(cases), o.repeat, rep.LoadAvg)
	for _, c := range cases {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "scale: %s\n", c)
		out := fmt.Sprintf("%s/%s.json", tmp, strings.ReplaceAll(c, ":", "_"))
		args := append([]string{"-child", c, "-child-out", out}, childFlags(o)...)
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("case %s: %w", c, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("case %s: %w", c, err)
		}
		var res caseResult
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("case %s: %w", c, err)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.Mem.ParentSeenMaxRSSKB = int64(ru.Maxrss)
		}
		res.WallS = time.Since(start).Seconds()
		res.summarize()
		rep.Cases = append(rep.Cases, res)
	}
	rep.LoadAvgEnd = loadAvg()
	printMarkdown(os.Stdout, rep)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func childFlags(o *options) []string {
	return []string{
		fmt.Sprintf("-adapters=%d", o.adapters), fmt.Sprintf("-clients=%d", o.clients),
		fmt.Sprintf("-repeat=%d", o.repeat), fmt.Sprintf("-small=%d", o.small),
		fmt.Sprintf("-tclients=%d", o.tclients), "-protocol=" + o.protocol, "-client=" + o.clientMode, "-sds=" + o.sds,
		"-profile=" + o.profileDir, "-timeout=" + o.timeout.String(), fmt.Sprintf("-xds-log=%t", o.xdsLog),
	}
}
