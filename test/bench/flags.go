package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// options holds every command-line setting of the benchmark.
type options struct {
	rows        []string
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	threads     int
	connections int
	wrkTimeout  time.Duration
	lightConns  int
	lightDur    time.Duration
	order       string
	seed        int64

	reloads       int
	reloadPoll    time.Duration
	reloadTimeout time.Duration
	reloadGap     time.Duration

	envoyBin         string
	envoyConcurrency int
	atlasBin         string
	atlasArgs        []string
	readyTimeout     time.Duration
	upstreamProcs    int

	out     string
	keepTmp bool
	verbose bool

	// Hidden: run as the upstream subprocess.
	upstreamChild  bool
	upstreamListen string
	upstreamKey    string
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	rows := fs.String("rows", strings.Join(defaultRows, ","), rowsHelp())
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved rounds; each round runs every row once")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "wrk duration of one measured run (-d)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run per row before round 1 (0 disables)")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads (-t)")
	fs.IntVar(&o.connections, "connections", 16, "wrk connections (-c)")
	fs.DurationVar(&o.wrkTimeout, "wrk-timeout", 2*time.Second, "wrk per-request timeout (--timeout, whole seconds)")
	fs.IntVar(&o.lightConns, "light-connections", 1, "after each loaded run, a light-load run with this many connections measures latency without queueing (0 disables)")
	fs.DurationVar(&o.lightDur, "light-duration", 3*time.Second, "wrk duration of the light-load run")
	fs.StringVar(&o.order, "order", "rotate", "row order inside a round: rotate (round r starts at row r) or shuffle")
	fs.Int64Var(&o.seed, "seed", 0, "seed for --order=shuffle (0: time-based)")

	fs.IntVar(&o.reloads, "reloads", 20, "config reloads to time against Atlas static (0 disables)")
	fs.DurationVar(&o.reloadPoll, "reload-poll", 2*time.Millisecond, "poll interval while waiting for a reloaded route")
	fs.DurationVar(&o.reloadTimeout, "reload-timeout", 10*time.Second, "give up on one reload after this long")
	fs.DurationVar(&o.reloadGap, "reload-gap", 300*time.Millisecond, "pause between reloads, so file events do not coalesce")

	fs.StringVar(&o.envoyBin, "envoy", "", "Envoy binary (default: $ENVOY_BIN, then envoy on PATH, then .tools/envoy/envoy/_bin/envoy)")
	fs.IntVar(&o.envoyConcurrency, "envoy-concurrency", 0, "--concurrency for the plain Envoy (0: Envoy's default, one worker per core, as Atlas's managed Envoy)")
	fs.StringVar(&o.atlasBin, "atlas", "bin/atlas", "Atlas server binary")
	atlasArgs := fs.String("atlas-args", "", "extra arguments appended to `atlas run` (space-separated)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 60*time.Second, "wait this long for each proxy to answer 200")
	fs.IntVar(&o.upstreamProcs, "upstream-procs", 1, "GOMAXPROCS of the upstream subprocess")

	fs.StringVar(&o.out, "out", "", "write raw per-round results as JSON to this file")
	fs.BoolVar(&o.keepTmp, "keep-tmp", false, "keep the temp dir (configs, logs) instead of deleting it")
	fs.BoolVar(&o.verbose, "v", false, "print each wrk run as it finishes")

	fs.BoolVar(&o.upstreamChild, "upstream-child", false, "internal: run as the upstream server")
	fs.StringVar(&o.upstreamListen, "upstream-listen", "", "internal: upstream listen address")
	fs.StringVar(&o.upstreamKey, "upstream-key", "", "internal: expected API key")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.upstreamChild {
		return o, nil
	}

	var err error
	if o.rows, err = parseRows(*rows); err != nil {
		return nil, err
	}
	if len(o.rows) > 0 && o.rows[0] != rowPlain {
		fmt.Fprintln(os.Stderr, "bench: warning: row 1 (plain Envoy) is not selected, so no ratio, added latency or target can be computed")
	}
	if len(o.rows) == 0 && o.reloads == 0 {
		return nil, fmt.Errorf("nothing to do: --rows is empty and --reloads=0")
	}
	o.atlasArgs = strings.Fields(*atlasArgs)
	switch {
	case o.rounds < 1:
		return nil, fmt.Errorf("--rounds must be >= 1")
	case o.duration < time.Second:
		return nil, fmt.Errorf("--duration must be >= 1s")
	case o.threads < 1 || o.connections < o.threads:
		return nil, fmt.Errorf("need --threads >= 1 and --connections >= --threads")
	case o.order != "rotate" && o.order != "shuffle":
		return nil, fmt.Errorf("--order must be rotate or shuffle")
	case o.lightConns < 0 || (o.lightConns > 0 && o.lightDur < time.Second):
		return nil, fmt.Errorf("need --light-connections >= 0 and --light-duration >= 1s")
	case o.reloads < 0:
		return nil, fmt.Errorf("--reloads must be >= 0")
	}
	return o, nil
}

// needsAtlas reports whether any selected work needs the Atlas binary.
func (o *options) needsAtlas() bool {
	for _, r := range o.rows {
		if rowInfos[r].instance != "" {
			return true
		}
	}
	return o.reloads > 0
}
