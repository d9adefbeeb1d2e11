package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/rollout"
	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

// plane is the control plane under test: the real xds.Server on a real
// grpc.Server, set up as `atlas run` does (NumStreamWorkers = GOMAXPROCS, an
// info-level logger whose output is discarded).
type plane struct {
	srv  *xds.Server
	g    *grpc.Server
	addr string
}

func startPlane(ctx context.Context, o *options) (*plane, error) {
	var w io.Writer = io.Discard
	if o.xdsLog {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := &plane{srv: xds.New(ctx, log.With("component", "xds"))}
	p.g = grpc.NewServer(grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))))
	p.srv.Register(p.g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.addr = lis.Addr().String()
	go func() { _ = p.g.Serve(lis) }()
	return p, nil
}

// cpuNow is this process's user + system CPU time so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func startCPUProfile(o *options, name string) func() {
	if o.profileDir == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s/%s.cpu.pprof", o.profileDir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale: cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "scale: cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func writeHeapProfile(o *options, name string) {
	if o.profileDir == "" {
		return
	}
	f, err := os.Create(fmt.Sprintf("%s/%s.heap.pprof", o.profileDir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale: heap profile:", err)
		return
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}

// filterCounts counts the HTTP filters of the listeners' connection
// managers and the upstream HTTP filters of the clusters.
func filterCounts(res *translate.Resources) (listener, upstream int) {
	for _, l := range res.Listeners {
		for _, fc := range l.(*listenerv3.Listener).GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if f.GetTypedConfig().UnmarshalTo(&hcm) == nil {
					listener += len(hcm.GetHttpFilters())
				}
			}
		}
	}
	for _, c := range res.Clusters {
		for _, a := range c.(*clusterv3.Cluster).GetTypedExtensionProtocolOptions() {
			var o httpv3.HttpProtocolOptions
			if a.UnmarshalTo(&o) == nil {
				upstream += len(o.GetHttpFilters())
			}
		}
	}
	return listener, upstream
}

func resSize(rs []types.Resource) (n int) {
	for _, r := range rs {
		n += proto.Size(r)
	}
	return n
}

func describe(cfg *model.Config, res *translate.Resources) (shape, map[string]int) {
	s := shape{Adapters: len(cfg.Adapters), Clusters: len(res.Clusters), Secrets: len(res.Secrets)}
	for _, a := range cfg.Adapters {
		if a.Upstream.TLS() {
			s.HTTPS++
		}
		if a.StripeApp != nil {
			s.Signed++
		}
		s.Headers += len(a.Headers)
	}
	s.Routes = 2*len(cfg.Adapters) + 1
	s.HTTPFilters, s.UpstreamFilters = filterCounts(res)
	return s, map[string]int{
		"listeners": resSize(res.Listeners), "routes": resSize(res.Routes),
		"clusters": resSize(res.Clusters), "secrets": resSize(res.Secrets),
	}
}

// runTranslate: Translate + Publish of an n-adapter config, r times in one
// process, with o.tclients ADS clients connected (their delivery time is
// reported separately; the target is Translate + Publish).
func runTranslate(ctx context.Context, o *options, inj translate.Injection, name string) (*caseResult, error) {
	res := &caseResult{Name: name, Scenario: "translate", Injection: string(inj), Clients: o.tclients, Protocol: o.protocol, ClientMode: o.clientMode, SDS: o.sds}
	res.Mem.StartRSSKB = vmKB("VmRSS")
	cfg := buildConfig(o.adapters)
	runtime.GC()
	res.Mem.ConfigRSSKB = vmKB("VmRSS")
	opts := translate.Options{Injection: inj, ListenAddress: "0.0.0.0"}

	p, err := startPlane(ctx, o)
	if err != nil {
		return nil, err
	}
	defer p.g.Stop()
	var fl *clientFleet
	var ch *change
	tg := targets{}
	if o.tclients > 0 {
		// Every repetition publishes the same config: what the client must
		// ACK is what the first one changes (computed here, untimed).
		pre, err := translate.Translate(cfg, opts)
		if err != nil {
			return nil, err
		}
		if ch, err = diffResources(nil, pre, o.sds == sdsNamed, o.protocol == protocolDelta); err != nil {
			return nil, err
		}
		// The clients connect to a server with no snapshot yet and get
		// each version as it is published.
		if fl, err = startFleet(o, p.addr, o.tclients); err != nil {
			return nil, err
		}
		defer fl.stop()
		time.Sleep(500 * time.Millisecond) // streams open, watches registered
	}

	stopProf := startCPUProfile(o, name)
	var last *translate.Resources
	for i := 0; i < o.repeat; i++ {
		runtime.GC()
		var rd *round
		if fl != nil {
			rd = fl.arm(strconv.Itoa(i + 1))
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := cpuNow()
		t0 := time.Now()
		r, err := translate.Translate(cfg, opts)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		v, err := p.srv.Publish(ctx, r)
		if err != nil {
			return nil, err
		}
		t2 := time.Now()
		c1 := cpuNow()
		runtime.ReadMemStats(&m1)
		if v != strconv.Itoa(i+1) {
			return nil, fmt.Errorf("Publish returned version %s, want %d", v, i+1)
		}
		rep := repTimes{TranslateMS: ms(t1.Sub(t0)), PublishMS: ms(t2.Sub(t1)), TotalMS: ms(t2.Sub(t0)),
			AllocMB: float64(m1.TotalAlloc-m0.TotalAlloc) / (1 << 20), CPUMS: ms(c1 - c0)}
		if fl != nil {
			tg.advance(p.srv, ch)
			if _, err := waitDelivered(ctx, p.srv, rd.t0, tg, o.timeout); err != nil {
				return nil, err
			}
			rep.DeliveredMS = ms(time.Since(t0))
		}
		res.Reps = append(res.Reps, rep)
		fmt.Fprintf(os.Stderr, "  %s rep %d: translate %.0f ms, publish %.1f ms, total %.0f ms (process CPU %.0f ms), delivered %.0f ms\n",
			name, i+1, rep.TranslateMS, rep.PublishMS, rep.TotalMS, rep.CPUMS, rep.DeliveredMS)
		last = r
	}
	stopProf()
	writeHeapProfile(o, name)
	res.finishMem()
	if fl != nil {
		fl.stop()
		res.ClientsProc = &procStats{MaxRSSKB: fl.MaxRSSKB, CPUMS: ms(fl.CPU)}
	}
	res.Shape, res.Bytes = describe(cfg, last)
	return res, nil
}

// runFanout: a baseline of base adapters is published and every client gets
// it; then, r times, one adapter is added and Published, timing until the
// server has seen every client ACK what changed (ackwait.go).
func runFanout(ctx context.Context, o *options, base int, inj translate.Injection, phased bool, name string) (*caseResult, error) {
	res := &caseResult{Name: name, Scenario: "fanout", Injection: string(inj), Phased: phased, Clients: o.clients, Protocol: o.protocol, ClientMode: o.clientMode, SDS: o.sds}
	follow, delta := o.sds == sdsNamed, o.protocol == protocolDelta
	res.Mem.StartRSSKB = vmKB("VmRSS")
	opts := translate.Options{Injection: inj, ListenAddress: "0.0.0.0"}
	cfg := buildConfig(base)
	p, err := startPlane(ctx, o)
	if err != nil {
		return nil, err
	}
	defer p.g.Stop()
	r1, err := translate.Translate(cfg, opts)
	if err != nil {
		return nil, err
	}
	if _, err := p.srv.Publish(ctx, r1); err != nil {
		return nil, err
	}
	ch1, err := diffResources(nil, r1, follow, delta)
	if err != nil {
		return nil, err
	}
	tg := targets{}
	tg.advance(p.srv, ch1)
	fl, err := startFleet(o, p.addr, o.clients)
	if err != nil {
		return nil, err
	}
	defer fl.stop()
	rd1 := fl.arm("1")
	if err := fl.wait(rd1, 10*o.timeout); err != nil {
		return nil, fmt.Errorf("connecting %d clients: %w", o.clients, err)
	}
	res.ConnectMS = ms(time.Since(rd1.t0))
	fmt.Fprintf(os.Stderr, "  %s: %d clients (started as a process) have version 1 after %.0f ms\n", name, o.clients, res.ConnectMS)
	// The clients say they ACKed version 1; the server must have seen it.
	if _, err := waitDelivered(ctx, p.srv, rd1.t0, tg, o.timeout); err != nil {
		return nil, fmt.Errorf("the server's fleet state after connecting: %w", err)
	}

	stopProf := startCPUProfile(o, name)
	var last *translate.Resources
	var lastCfg *model.Config
	prevCfg, prevRes, cur := cfg, r1, 1
	for i := 1; i <= o.repeat; i++ {
		c := withAdapters(cfg, i)
		t0 := time.Now()
		r, err := translate.Translate(c, opts)
		if err != nil {
			return nil, err
		}
		tr := time.Since(t0)
		ch, err := diffResources(prevRes, r, follow, delta)
		if err != nil {
			return nil, err
		}
		runtime.GC()
		time.Sleep(200 * time.Millisecond) // let the previous round's ACKs settle
		steps := 1
		change := rollout.Change{Opts: opts, Old: prevCfg, Prev: prevRes, New: c, Next: r}
		if phased && change.Phased() {
			steps = 3
		}
		want := strconv.Itoa(cur + steps)
		c0 := cpuNow()
		rd := fl.arm(want)
		var v string
		var waits []phaseWait
		if phased {
			var ws []rollout.Wait
			v, ws, err = rollout.Publish(ctx, p.srv, change)
			for _, w := range ws {
				waits = append(waits, phaseWait{Version: w.Version, MS: ms(w.Took), Confirmed: w.Confirmed})
			}
		} else {
			v, err = p.srv.Publish(ctx, r)
		}
		if err != nil {
			return nil, err
		}
		pub := time.Since(rd.t0)
		if v != want {
			return nil, fmt.Errorf("publishing returned version %s, want %s", v, want)
		}
		cur += steps
		tg.advance(p.srv, ch)
		at, err := waitDelivered(ctx, p.srv, rd.t0, tg, o.timeout)
		if err != nil {
			return nil, err
		}
		// All clients: the last one's last ACK, by the server's clock (the
		// poll that noticed it came a little later).
		all := slices.Max(at)
		cpu := cpuNow() - c0
		st := summarize(durMS(at))
		rep := repTimes{TranslateMS: ms(tr), PublishMS: ms(pub), AllMS: ms(all), FirstMS: st.Min, MedianClientMS: st.Median, CPUMS: ms(cpu),
			Publishes: steps, Waits: waits, Changed: ch}
		res.Reps = append(res.Reps, rep)
		for _, w := range waits {
			fmt.Fprintf(os.Stderr, "  %s rep %d: WaitAcked(v%s) %.0f ms, confirmed %t\n", name, i, w.Version, w.MS, w.Confirmed)
		}
		fmt.Fprintf(os.Stderr, "  %s rep %d: publish %.1f ms; clients first %.0f / median %.0f / all %.0f ms; process CPU %.0f ms (translate %.0f ms, not in these)\n",
			name, i, rep.PublishMS, rep.FirstMS, rep.MedianClientMS, rep.AllMS, rep.CPUMS, rep.TranslateMS)
		last, lastCfg = r, c
		prevCfg, prevRes = c, r
	}
	stopProf()
	writeHeapProfile(o, name)
	res.finishMem()
	fl.stop()
	res.ClientsProc = &procStats{MaxRSSKB: fl.MaxRSSKB, CPUMS: ms(fl.CPU)}
	res.Shape, res.Bytes = describe(lastCfg, last)
	return res, nil
}

func durMS(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}
