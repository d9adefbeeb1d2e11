package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

type report struct {
	StartedAt  string       `json:"started_at"`
	GoVersion  string       `json:"go_version"`
	CPUs       int          `json:"cpus"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	LoadAvg    string       `json:"loadavg_start"`
	LoadAvgEnd string       `json:"loadavg_end"`
	Adapters   int          `json:"adapters"`
	Small      int          `json:"small_adapters"`
	Clients    int          `json:"clients"`
	Repeat     int          `json:"repeat"`
	TClients   int          `json:"translate_clients"`
	Protocol   string       `json:"protocol"`
	ClientMode string       `json:"client_mode"`
	SDS        string       `json:"sds_subscription"`
	Cases      []caseResult `json:"cases"`
}

// repTimes is one repetition, in milliseconds. Translate cases fill
// Translate/Publish/Total (and Delivered when clients are connected);
// fanout cases fill Publish/First/MedianClient/All (Translate is done
// before the clock starts and reported for information).
type repTimes struct {
	TranslateMS    float64 `json:"translate_ms"`
	PublishMS      float64 `json:"publish_ms"`
	TotalMS        float64 `json:"translate_publish_ms,omitempty"`
	DeliveredMS    float64 `json:"delivered_ms,omitempty"`
	FirstMS        float64 `json:"first_client_ms,omitempty"`
	MedianClientMS float64 `json:"median_client_ms,omitempty"`
	AllMS          float64 `json:"all_clients_ms,omitempty"`
	AllocMB        float64 `json:"go_alloc_mb,omitempty"`
	CPUMS          float64 `json:"process_cpu_ms"`
	// Phased fanout: Publish calls made, and each WaitAcked.
	Publishes int         `json:"publishes,omitempty"`
	Waits     []phaseWait `json:"wait_acked,omitempty"`
	// Fanout: the resources the change added, changed or removed.
	Changed *change `json:"changed,omitempty"`
}

type memResult struct {
	StartRSSKB         int64  `json:"start_rss_kb"`
	ConfigRSSKB        int64  `json:"config_built_rss_kb,omitempty"`
	MaxRSSKB           int64  `json:"getrusage_maxrss_kb"`
	VmHWMKB            int64  `json:"vmhwm_kb"`
	ParentSeenMaxRSSKB int64  `json:"parent_wait4_maxrss_kb"`
	HeapSysKB          uint64 `json:"go_heap_sys_kb"`
	NumGC              uint32 `json:"go_num_gc"`
	TotalAllocMB       uint64 `json:"go_total_alloc_mb"`
}

type stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

type caseResult struct {
	Name       string          `json:"name"`
	Scenario   string          `json:"scenario"`
	Injection  string          `json:"injection"`
	Phased     bool            `json:"phased,omitempty"`
	Clients    int             `json:"clients"`
	Protocol   string          `json:"protocol"`
	ClientMode string          `json:"client_mode"`
	SDS        string          `json:"sds_subscription"`
	Shape      shape           `json:"shape"`
	Bytes      map[string]int  `json:"marshaled_bytes_by_type"`
	ConnectMS  float64         `json:"connect_all_ms,omitempty"`
	Reps       []repTimes      `json:"reps"`
	Mem        memResult       `json:"memory"`
	WallS      float64         `json:"wall_s"`
	Summary    map[string]stat `json:"summary"`
	// The ADS clients' own process (whole run, including connecting).
	ClientsProc *procStats `json:"clients_process,omitempty"`
}

type procStats struct {
	MaxRSSKB int64   `json:"maxrss_kb"`
	CPUMS    float64 `json:"cpu_ms"`
}

func (r *caseResult) finishMem() {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.Mem.MaxRSSKB = int64(ru.Maxrss) // kilobytes on Linux
	}
	r.Mem.VmHWMKB = vmKB("VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.Mem.HeapSysKB = ms.HeapSys / 1024
	r.Mem.NumGC = ms.NumGC
	r.Mem.TotalAllocMB = ms.TotalAlloc >> 20
}

func (r *caseResult) summarize() {
	pick := map[string]func(repTimes) float64{
		"translate_ms":         func(t repTimes) float64 { return t.TranslateMS },
		"publish_ms":           func(t repTimes) float64 { return t.PublishMS },
		"translate_publish_ms": func(t repTimes) float64 { return t.TotalMS },
		"delivered_ms":         func(t repTimes) float64 { return t.DeliveredMS },
		"first_client_ms":      func(t repTimes) float64 { return t.FirstMS },
		"median_client_ms":     func(t repTimes) float64 { return t.MedianClientMS },
		"all_clients_ms":       func(t repTimes) float64 { return t.AllMS },
		"go_alloc_mb":          func(t repTimes) float64 { return t.AllocMB },
		"process_cpu_ms":       func(t repTimes) float64 { return t.CPUMS },
	}
	r.Summary = map[string]stat{}
	for k, f := range pick {
		var xs []float64
		for _, t := range r.Reps {
			if v := f(t); v != 0 {
				xs = append(xs, v)
			}
		}
		if len(xs) > 0 {
			r.Summary[k] = summarize(xs)
		}
	}
}

func summarize(xs []float64) stat {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Min: s[0], Median: m, Max: s[len(s)-1]}
}

// vmKB reads one "Vm…: N kB" line of /proc/self/status.
func vmKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

func fmtStat(s stat) string {
	return fmt.Sprintf("%s / %s / %s", num(s.Min), num(s.Median), num(s.Max))
}

func num(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**MISS**"
}

func printMarkdown(w io.Writer, r *report) {
	fmt.Fprintf(w, "\n%d CPUs (GOMAXPROCS %d), %s; load average %s at start, %s at end. %d repetitions per case, each case in its own process; times are min / median / max in ms.\n\n",
		r.CPUs, r.GOMAXPROCS, r.GoVersion, r.LoadAvg, r.LoadAvgEnd, r.Repeat)
	fmt.Fprintln(w, "| target (issue #4) | case | measured | target | result |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, c := range r.Cases {
		switch c.Scenario {
		case "translate":
			s := c.Summary["translate_publish_ms"]
			fmt.Fprintf(w, "| %d adapters: Translate + Publish | %s injection | %s ms | ≤ %.0f ms | %s |\n",
				c.Shape.Adapters, c.Injection, fmtStat(s), targetTranslateMS, verdict(s.Max <= targetTranslateMS))
			peak := mb(max(c.Mem.MaxRSSKB, c.Mem.VmHWMKB))
			fmt.Fprintf(w, "| %d adapters: peak RSS | %s injection | %.0f MB | ≤ %.0f MB | %s |\n",
				c.Shape.Adapters, c.Injection, peak, targetRSSMB, verdict(peak <= targetRSSMB))
		case "fanout":
			s := c.Summary["all_clients_ms"]
			fmt.Fprintf(w, "| %d clients get one change (%s) | %d-adapter baseline, %s | %s ms | ≤ %.0f ms | %s |\n",
				c.Clients, protocolName(c.Protocol), c.Shape.Adapters-len(c.Reps), label(c), fmtStat(s), targetFanoutMS, verdict(s.Max <= targetFanoutMS))
		}
	}
	fmt.Fprintln(w, "\nResult is PASS only if the slowest repetition meets the target.")

	has := map[string]bool{}
	for _, c := range r.Cases {
		has[c.Scenario] = true
	}
	if has["translate"] {
		printTranslateDetail(w, r)
	}
	if has["fanout"] {
		printFanoutDetail(w, r)
	}
}

func printTranslateDetail(w io.Writer, r *report) {
	fmt.Fprintf(w, "\nTranslate + Publish, detail (%d %s client(s) connected, in a separate process; \"delivered\" is from the start of Translate until the server has seen the client(s) ACK what changed):\n", r.TClients, protocolName(r.Protocol))
	fmt.Fprintln(w, "\n| injection | adapters / clusters / secrets / listener HTTP filters / cluster upstream HTTP filters | LDS / RDS / CDS / SDS bytes | Translate ms | Publish ms | control plane CPU during both, ms | delivered to the ADS client(s), ms | RSS: config built / peak (getrusage, VmHWM) MB | Go bytes allocated by Translate + Publish, MB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, c := range r.Cases {
		if c.Scenario != "translate" {
			continue
		}
		fmt.Fprintf(w, "| %s | %d / %d / %d / %d / %d | %s / %s / %s / %s | %s | %s | %s | %s | %.0f / %.0f, %.0f | %s |\n",
			c.Injection, c.Shape.Adapters, c.Shape.Clusters, c.Shape.Secrets, c.Shape.HTTPFilters, c.Shape.UpstreamFilters,
			kb(c.Bytes["listeners"]), kb(c.Bytes["routes"]), kb(c.Bytes["clusters"]), kb(c.Bytes["secrets"]),
			fmtStat(c.Summary["translate_ms"]), fmtStat(c.Summary["publish_ms"]), fmtStat(c.Summary["process_cpu_ms"]), fmtStat(c.Summary["delivered_ms"]),
			mb(c.Mem.ConfigRSSKB), mb(c.Mem.MaxRSSKB), mb(c.Mem.VmHWMKB), num(c.Summary["go_alloc_mb"].Median))
	}
}

func printFanoutDetail(w io.Writer, r *report) {
	fmt.Fprintln(w, "\nFanout, detail (clock starts right before Publish — for phased cases, before the transition Translate and the three Publish calls of internal/rollout.Publish; Translate of the changed config is done first and not counted; a client is done when the server has seen it ACK every changed type that concerns it):")
	fmt.Fprintln(w, "\n| baseline | injection | Publish calls (WaitAcked timeouts) per change | clients (protocol, mode, SDS) | LDS / RDS / CDS / SDS bytes | changed per change: LDS / RDS / CDS / SDS bytes (resources) | connect all (v1) ms | Publish ms | first client ms | median client ms | all clients ms | control plane CPU until all, ms | control plane peak RSS MB | clients process: CPU s, peak RSS MB (whole run) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range r.Cases {
		if c.Scenario != "fanout" {
			continue
		}
		fmt.Fprintf(w, "| %d adapters | %s | %s | %d (%s, %s, %s) | %s / %s / %s / %s | %s | %.0f | %s | %s | %s | %s | %s | %.0f | %s |\n",
			c.Shape.Adapters-len(c.Reps), label(c), publishes(c), c.Clients, protocolName(c.Protocol), c.ClientMode, c.SDS,
			kb(c.Bytes["listeners"]), kb(c.Bytes["routes"]), kb(c.Bytes["clusters"]), kb(c.Bytes["secrets"]), changed(c),
			c.ConnectMS, fmtStat(c.Summary["publish_ms"]), fmtStat(c.Summary["first_client_ms"]),
			fmtStat(c.Summary["median_client_ms"]), fmtStat(c.Summary["all_clients_ms"]), fmtStat(c.Summary["process_cpu_ms"]), mb(max(c.Mem.MaxRSSKB, c.Mem.VmHWMKB)), clientsProc(c.ClientsProc))
	}
}

func label(c caseResult) string {
	if c.Phased {
		return c.Injection + ", phased"
	}
	return c.Injection
}

// publishes is "1", or for phased cases e.g. "3 (0)" per repetition.
func publishes(c caseResult) string {
	if !c.Phased {
		return "1"
	}
	var parts []string
	for _, r := range c.Reps {
		t := 0
		for _, w := range r.Waits {
			if !w.Confirmed {
				t++
			}
		}
		parts = append(parts, fmt.Sprintf("%d (%d)", r.Publishes, t))
	}
	return strings.Join(parts, ", ")
}

func protocolName(p string) string {
	if p == protocolSotW {
		return "SotW ADS"
	}
	return "delta ADS"
}

// changed is what one change added or changed, by type, as its median over
// the repetitions: bytes (resources), and the names removed if any.
func changed(c caseResult) string {
	var parts []string
	for _, tk := range typeKeys {
		var bs, ns, rs []float64
		for _, r := range c.Reps {
			if r.Changed != nil {
				bs = append(bs, float64(r.Changed.Bytes[tk.key]))
				ns = append(ns, float64(r.Changed.Count[tk.key]))
				rs = append(rs, float64(r.Changed.Removed[tk.key]))
			}
		}
		if len(bs) == 0 {
			return "-"
		}
		s := fmt.Sprintf("%s (%g)", size(int(summarize(bs).Median)), summarize(ns).Median)
		if rm := summarize(rs).Median; rm > 0 {
			s += fmt.Sprintf(", %g removed", rm)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " / ")
}

func size(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return kb(n)
}

func clientsProc(p *procStats) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f s, %.0f MB", p.CPUMS/1000, mb(p.MaxRSSKB))
}

func kb(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KB", float64(n)/1024)
}
