package envoyproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Options configure a managed Envoy.
type Options struct {
	Binary    string
	Bootstrap []byte
	// LogLevel is Envoy's --log-level (info if empty).
	LogLevel string
	// DrainTime bounds how long connections of a replaced listener live.
	DrainTime time.Duration
	// Redact scrubs secrets from each forwarded log line (Envoy prints
	// request headers at debug level). Nil forwards lines unchanged.
	Redact func(string) string
}

// Process is a running Envoy whose output is forwarded to a logger.
type Process struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when Envoy has exited
	err  error         // its exit error, set before done is closed
}

// Start writes the bootstrap to a private temp dir and starts Envoy. The
// process is not tied to ctx: call Stop, so shutdown is orderly.
func Start(ctx context.Context, log *slog.Logger, o Options) (*Process, error) {
	dir, err := os.MkdirTemp("", "atlas-envoy-")
	if err != nil {
		return nil, fmt.Errorf("creating a directory for the Envoy bootstrap: %w", err)
	}
	path := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(path, o.Bootstrap, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the Envoy bootstrap: %w", err)
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.DrainTime <= 0 {
		o.DrainTime = 5 * time.Second
	}
	args := []string{
		"-c", path,
		"--log-level", o.LogLevel,
		// Several Envoys may share a host (tests, benchmarks, sidecars);
		// hot restart's shared memory would make them collide.
		"--disable-hot-restart",
		"--drain-time-s", fmt.Sprint(int(o.DrainTime.Seconds())),
		"--drain-strategy", "immediate",
	}
	cmd := exec.Command(o.Binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout = cmd.Stderr // Envoy logs to stderr; stdout is rarely used.
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting Envoy %s: %w", o.Binary, err)
	}
	log.Info("started Envoy", "binary", o.Binary, "pid", cmd.Process.Pid)
	p := &Process{cmd: cmd, dir: dir, done: make(chan struct{})}
	logged := make(chan struct{})
	go func() { forward(log.With("component", "envoy"), stderr, o.Redact); close(logged) }()
	go func() {
		<-logged
		p.err = cmd.Wait()
		close(p.done)
		os.RemoveAll(dir)
	}()
	return p, nil
}

// Done is closed when Envoy has exited; Err then gives its exit error.
// Any number of callers may wait on it, Stop included.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is Envoy's exit error once Done is closed (nil on a clean exit).
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Stop sends SIGTERM, waits up to grace, then kills.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return exitErr(p.err)
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return exitErr(p.err)
	}
}

func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() && ee.ExitCode() == 0 {
		return nil
	}
	if errors.As(err, &ee) && !ee.Exited() {
		return nil // ended by our signal
	}
	return err
}

// forward turns Envoy's log lines into slog records at a matching level.
// Envoy's default format is "[time][thread][level][logger] [file:line] msg".
func forward(log *slog.Logger, r io.Reader, redact func(string) string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if redact != nil {
			line = redact(line)
		}
		level := slog.LevelInfo
		switch {
		case strings.Contains(line, "][critical]"), strings.Contains(line, "][error]"):
			level = slog.LevelError
		case strings.Contains(line, "][warning]"):
			level = slog.LevelWarn
		case strings.Contains(line, "][debug]"), strings.Contains(line, "][trace]"):
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, line)
	}
}
