package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a subprocess started in its own process group, with its output in
// a log file. stop() sends SIGTERM to the process, waits, then SIGKILLs the
// whole group (so an Envoy started by Atlas cannot outlive the benchmark).
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	once    sync.Once
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), env...)
	// Own process group: Ctrl-C in the terminal reaches only us, and we shut
	// the children down in order. Pdeathsig covers us being SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has already ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop terminates the process: SIGTERM, up to grace, then SIGKILL to the group.
func (p *proc) stop(grace time.Duration) {
	p.once.Do(func() {
		pid := p.cmd.Process.Pid
		if !p.exited() {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(grace):
				fmt.Fprintf(os.Stderr, "bench: %s did not exit %v after SIGTERM; killing\n", p.name, grace)
			}
		}
		// Kill whatever is left in the group (e.g. Atlas's Envoy), then reap.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	})
}

// logTail returns the last n lines of the process's log, for error messages.
func (p *proc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

func (p *proc) exitError() error {
	return fmt.Errorf("%s exited early (%v); last log lines (%s):\n%s", p.name, p.waitErr, p.logPath, p.logTail(20))
}

// cleanups runs registered functions in reverse order, once.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, fn)
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// freePorts asks the kernel for n distinct unused loopback TCP ports. Another
// process could take one before we use it; on a benchmark box that race is
// acceptable.
func freePorts(n int) ([]int, error) {
	// Hold all listeners open together so the ports are distinct.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// lookPathOrExisting resolves a binary given as a path or a bare name.
func lookPathOrExisting(bin string) (string, error) {
	if strings.ContainsRune(bin, os.PathSeparator) {
		st, err := os.Stat(bin)
		if err != nil {
			return "", err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", errors.New(bin + " is not an executable file")
		}
		return bin, nil
	}
	return exec.LookPath(bin)
}
