// Command bench measures Atlas against plain Envoy on loopback: throughput
// and latency of (1) plain Envoy, (2) Atlas static injection, (3) Atlas
// ext_proc injection, and (4)-(7) Stripe App signature verification (GET
// with the stripe-user header, POST with a 1 KB body; ext_proc and
// ext_authz), interleaved over several rounds, plus the latency of a config
// reload. Run it from the repository root: `go run ./test/bench`
// (see docs/benchmarks.md and `make bench`).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/atlas-gateway/atlas/internal/stripesig"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.upstreamChild {
		if err := runUpstreamChild(o.upstreamListen, o.upstreamKey); err != nil {
			fmt.Fprintln(os.Stderr, "upstream:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, o)
	stop()
	os.Exit(code)
}

// run returns the exit code: 0 done, 1 error or interrupted, 3 done but some
// runs were invalid (non-2xx answers, socket errors or upstream 401s).
func run(ctx context.Context, o *options) int {
	var cl cleanups
	defer cl.run()
	rep := &report{StartedAt: time.Now().UTC().Format(time.RFC3339)}
	err := bench(ctx, o, &cl, rep)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		rep.Aborted = err.Error()
	}
	rep.Machine["loadavg_end"] = loadavg()
	if len(rep.Runs) > 0 || len(rep.Reloads) > 0 {
		rep.Summary = summarize(o.rows, rep.Runs)
		rep.Reload = summarizeReloads(rep.Reloads, float64(o.reloadTimeout.Milliseconds()))
		rep.Targets = checkTargets(rep.Summary, rep.Reload)
		if err != nil {
			fmt.Println("\n(partial results: the run was aborted)")
		}
		printMarkdown(os.Stdout, o, rep.Machine, rep.Summary, rep.Runs, rep.Reload, rep.Targets)
	}
	if o.out != "" {
		if werr := writeJSON(o.out, rep); werr != nil {
			fmt.Fprintln(os.Stderr, "bench: writing --out:", werr)
		} else {
			fmt.Fprintln(os.Stderr, "bench: raw results in", o.out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	for _, r := range rep.Runs {
		if !r.Valid {
			fmt.Fprintln(os.Stderr, "bench: some runs were INVALID (see above); their numbers do not measure a working proxy")
			return 3
		}
	}
	return 0
}

func bench(ctx context.Context, o *options, cl *cleanups, rep *report) error {
	rep.Machine = map[string]any{
		"cpus": runtime.NumCPU(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		"go": runtime.Version(), "loadavg_start": loadavg(),
	}
	rep.Options = map[string]any{
		"rows": o.rows, "rounds": o.rounds, "duration": o.duration.String(), "warmup": o.warmup.String(),
		"wrk_threads": o.threads, "wrk_connections": o.connections, "order": o.order,
		"reloads": o.reloads, "reload_poll": o.reloadPoll.String(), "upstream_gomaxprocs": o.upstreamProcs,
		"plain_envoy_concurrency": o.envoyConcurrency, "atlas_args": o.atlasArgs,
	}

	// Find every tool before starting anything.
	wrkBin, err := findWrk()
	if err != nil {
		return err
	}
	envoyBin, err := findEnvoy(o.envoyBin)
	if err != nil {
		return err
	}
	rep.Machine["envoy"] = envoyBin
	ver := commandLine(envoyBin, "--version")
	if _, v, ok := strings.Cut(ver, "version: "); ok {
		ver = "Envoy " + v // <sha>/1.40.0/Clean/RELEASE/BoringSSL
		if f := strings.Split(v, "/"); len(f) > 1 {
			ver = "Envoy " + f[1]
		}
	}
	rep.Machine["envoy_version"] = ver
	rep.Machine["wrk"] = commandLine(wrkBin, "-v")
	var atlasBin string
	if o.needsAtlas() {
		atlasBin, err = lookPathOrExisting(o.atlasBin)
		if err != nil {
			return fmt.Errorf("Atlas binary %s not usable (%v): run `make build` first, point --atlas at it, or measure only plain Envoy with --rows plain --reloads 0", o.atlasBin, err)
		}
		rep.Machine["atlas"] = atlasBin
	}

	dir, err := os.MkdirTemp("", "atlas-bench-")
	if err != nil {
		return err
	}
	cl.add(func() {
		if o.keepTmp {
			fmt.Fprintln(os.Stderr, "bench: kept configs and logs in", dir)
			return
		}
		os.RemoveAll(dir)
	})

	key := "sk_test_bench_" + randomHex(12)
	appSecret := stripesig.AppSecretPrefix + "bench" + randomHex(12)
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	upPort, plainAdmin, plainPort := ports[0], ports[1], ports[2]

	up, err := startUpstream(ctx, o, dir, key, upPort)
	if up != nil {
		cl.add(func() { up.proc.stop(3 * time.Second) })
	}
	if err != nil {
		return err
	}
	// The upstream must refuse a request without the key, and a signed-route
	// request without the verified identity, or a 200 through a proxy would
	// prove nothing.
	if ok, code := get200(ctx, "http://"+up.addr+"/v1/charges", map[string]string{selfCheckHeader: "1"}); ok || code != 401 {
		return fmt.Errorf("upstream self-check: request without key answered %d, want 401", code)
	}
	if ok, code := get200(ctx, "http://"+up.addr+signedPrefix+"/v1/charges", map[string]string{"Authorization": "Bearer " + key, selfCheckHeader: "1"}); ok || code != 401 {
		return fmt.Errorf("upstream self-check: signed-route request without identity answered %d, want 401", code)
	}

	targets := map[string]target{}
	var plain *proc
	if len(rowsOf(o.rows, "")) > 0 {
		plain, err = startPlainEnvoy(o, envoyBin, dir, plainAdmin, plainPort, upPort)
		if plain != nil {
			cl.add(func() { plain.stop(5 * time.Second) })
		}
		if err != nil {
			return err
		}
		for _, row := range rowsOf(o.rows, "") {
			targets[row] = target{row: row, proc: plain, admin: fmt.Sprintf("127.0.0.1:%d", plainAdmin), dir: dir,
				url:     fmt.Sprintf("http://127.0.0.1:%d/v1/apis/http/up/v1/charges", plainPort),
				headers: []string{"Authorization: Bearer " + key}}
		}
	}
	atlas := map[string]*atlasInstance{}
	for _, inst := range instances {
		rows := rowsOf(o.rows, inst)
		if len(rows) == 0 && !(inst == instStatic && o.reloads > 0) {
			continue
		}
		a, err := startAtlas(o, atlasBin, envoyBin, dir, inst, key, appSecret, upPort)
		if a != nil && a.proc != nil {
			p := a.proc
			cl.add(func() { p.stop(10 * time.Second) })
		}
		if err != nil {
			return err
		}
		atlas[inst] = a
		for _, row := range rows {
			t := target{row: row, proc: a.proc, url: a.url("up"), admin: a.envoyAdmin, dir: dir}
			if rowInfos[row].signed {
				t.url, t.appSecret = a.url(signedAdapter), appSecret
			}
			targets[row] = t
		}
	}

	// xDS pushes are asynchronous: wait until each route answers 200, with
	// the very request the row sends.
	for _, row := range o.rows {
		t := targets[row]
		took, err := waitFor200(ctx, t.proc, t.requestFor(time.Now()), 50*time.Millisecond, o.readyTimeout)
		if err != nil {
			if ctx.Err() == nil && !t.proc.exited() {
				err = fmt.Errorf("%w; last log lines of %s (%s):\n%s", err, t.proc.name, t.proc.logPath, t.proc.logTail(15))
			}
			return fmt.Errorf("%s not ready: %w", rowTitle(row), err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s ready in %v (%s)\n", rowTitle(row), took.Round(time.Millisecond), t.url)
	}

	if len(o.rows) > 0 {
		runs, err := runRounds(ctx, wrkBin, o, up, targets)
		rep.Runs = runs
		if err != nil {
			return err
		}
	}

	if o.reloads > 0 {
		// Stop the other proxies so the reload timing is not sharing the
		// CPU with idle-but-awake Envoys.
		if plain != nil {
			plain.stop(5 * time.Second)
		}
		for inst, a := range atlas {
			if inst != instStatic {
				a.proc.stop(10 * time.Second)
			}
		}
		fmt.Fprintf(os.Stderr, "bench: timing %d reloads of %s\n", o.reloads, atlas[instStatic].configPath)
		samples, err := runReloads(ctx, o, atlas[instStatic], upPort)
		rep.Reloads = samples
		if err != nil {
			return fmt.Errorf("reload test: %w", err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// commandLine runs a version command and returns its first non-empty line.
func commandLine(bin string, args ...string) string {
	out, _ := exec.Command(bin, args...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
