package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A test binary killed by a timeout or SIGKILL never runs its cleanups, and
// postgres outlives it. Each cluster directory records the pid of the
// process that started it; Run stops and removes the clusters whose
// starter is gone, so killed runs do not pile up servers.

const ownerFile = "owner.pid"

func writeOwnerPID(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

func reapOrphans(binDir string, cred *syscall.Credential) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		s := &Server{BinDir: binDir, dir: dir, cred: cred}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := os.Stat(filepath.Join(s.dataDir(), "postmaster.pid")); err == nil {
			_ = s.Command(ctx, "pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop").Run()
		}
		cancel()
		os.RemoveAll(dir)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
