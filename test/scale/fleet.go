package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The ADS clients run in their own process (this binary with
// -child=clients), so that the measuring process's RSS and CPU are the
// control plane's alone. The two processes share the machine's cores, as
// they would on a single host.
//
// Protocol, one line each on the clients process's stdout:
//
//	done ID VERSION UNIXNANO   client ID holds all it subscribes to, VERSION the highest it ACKed
//	err MESSAGE                a client failed
//	exit MAXRSS_KB CPU_NS      on stdin EOF, just before exiting
//
// Timestamps are wall-clock nanoseconds (same host, same clock).

func runClientsProc(ctx context.Context, o *options) error {
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	line := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format+"\n", a...)
		_ = w.Flush()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := 0; i < o.clients; i++ {
		c, err := dialClient(ctx, o.addr, i, o, func(id int, v string) {
			line("done %d %s %d", id, v, time.Now().UnixNano())
		})
		if err != nil {
			return err
		}
		go func() {
			if err := c.run(); err != nil && ctx.Err() == nil {
				line("err client %d: %s", c.id, strings.ReplaceAll(err.Error(), "\n", " "))
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	line("exit %d %d", ru.Maxrss, ru.Utime.Nano()+ru.Stime.Nano())
	return nil
}

// round is one published version the clients are waiting for.
type round struct {
	version   string
	t0        time.Time
	remaining atomic.Int32
	done      chan struct{}
	at        []time.Duration // per client: t0 → has everything
}

// clientFleet is the parent's handle on the clients process.
type clientFleet struct {
	n      int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	errc   chan error
	mu     sync.Mutex
	rounds map[string]*round
	exited chan struct{}
	once   sync.Once
	// From the clients process's "exit" line.
	MaxRSSKB int64
	CPU      time.Duration
}

func startFleet(o *options, addr string, n int) (*clientFleet, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f := &clientFleet{n: n, errc: make(chan error, 1), rounds: map[string]*round{}, exited: make(chan struct{})}
	f.cmd = exec.Command(self, "-child=clients", "-addr="+addr, fmt.Sprintf("-clients=%d", n),
		"-protocol="+o.protocol, "-client="+o.clientMode, "-sds="+o.sds)
	f.cmd.Stderr = os.Stderr
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	go f.read(out)
	return f, nil
}

func (f *clientFleet) fail(err error) {
	select {
	case f.errc <- err:
	default:
	}
}

func (f *clientFleet) read(r io.Reader) {
	defer close(f.exited)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 4 && fs[0] == "done":
			id, _ := strconv.Atoi(fs[1])
			ns, _ := strconv.ParseInt(fs[3], 10, 64)
			f.mu.Lock()
			rd := f.rounds[fs[2]]
			f.mu.Unlock()
			if rd == nil || id < 0 || id >= len(rd.at) || rd.at[id] != 0 {
				continue
			}
			rd.at[id] = max(time.Unix(0, ns).Sub(rd.t0), time.Nanosecond)
			if rd.remaining.Add(-1) == 0 {
				close(rd.done)
			}
		case len(fs) == 3 && fs[0] == "exit":
			f.MaxRSSKB, _ = strconv.ParseInt(fs[1], 10, 64)
			ns, _ := strconv.ParseInt(fs[2], 10, 64)
			f.CPU = time.Duration(ns)
		case len(fs) > 0 && fs[0] == "err":
			f.fail(fmt.Errorf("ADS clients: %s", strings.TrimPrefix(sc.Text(), "err ")))
		}
	}
	f.fail(fmt.Errorf("the ADS clients process exited"))
}

// arm starts a round for version; call it right before Publish.
func (f *clientFleet) arm(version string) *round {
	rd := &round{version: version, done: make(chan struct{}), at: make([]time.Duration, f.n)}
	rd.remaining.Store(int32(f.n))
	rd.t0 = time.Now()
	f.mu.Lock()
	f.rounds[version] = rd
	f.mu.Unlock()
	return rd
}

func (f *clientFleet) wait(rd *round, timeout time.Duration) error {
	select {
	case <-rd.done:
		return nil
	case err := <-f.errc:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("after %s, %d of %d clients still lack version %s", timeout, rd.remaining.Load(), f.n, rd.version)
	}
}

// stop closes the clients' stdin, collects their exit line and waits.
func (f *clientFleet) stop() {
	f.once.Do(func() {
		_ = f.stdin.Close()
		select {
		case <-f.exited:
		case <-time.After(10 * time.Second):
			_ = f.cmd.Process.Kill()
		}
		_ = f.cmd.Wait()
	})
}
