package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The durability test re-executes the test binary as a child (TestMain
// sees crashChildEnv) that writes, prints "acked" once its writes have
// returned, and keeps writing until it is killed with SIGKILL. Whatever
// was acknowledged must be there after reopening, and the file must be
// intact although the kill lands in the middle of later transactions.

const crashChildEnv = "ATLAS_STORE_TEST_CRASH_CHILD_DB"

const crashSecret = "sk_test_durable_value"

func crashChild(path string) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, path, testKey)
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	if _, err := s.PutAdapter(ctx, Adapter{Name: "acked", Document: adapterDoc("acked", "durable")}); err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	if _, _, err := s.SetSecret(ctx, "ACKED_KEY", []byte(crashSecret)); err != nil {
		fmt.Println("child:", err)
		os.Exit(2)
	}
	fmt.Println("acked") // os.Stdout is unbuffered
	for i := 0; ; i++ {  // be mid-write when the kill lands
		s.PutAdapter(ctx, Adapter{Name: fmt.Sprintf("extra-%d", i), Document: adapterDoc("extra", "x")})
		if i > 100000 {
			time.Sleep(time.Second) // killed long before
		}
	}
}

func TestSQLiteSurvivesKill9AfterAck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atlas.db")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line == "acked\n" {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	waitErr := cmd.Wait()
	if line != "acked\n" {
		t.Fatalf("child did not ack: %q, %v (exit: %v)", line, err, waitErr)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", cmd.ProcessState)
	}

	s := openSQLite(t, path)
	adapters, err := s.ListAdapters(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range adapters {
		found = found || a.Name == "acked" && strings.Contains(string(a.Document), "durable")
	}
	if !found {
		t.Errorf("the acknowledged adapter is gone after kill -9 (have %d adapters)", len(adapters))
	}
	if v, err := s.GetSecret(t.Context(), "ACKED_KEY"); err != nil || string(v) != crashSecret {
		t.Errorf("the acknowledged secret after kill -9: %q, %v", v, err)
	}
	var check string
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	t.Logf("the child had committed %d more adapters when killed", len(adapters)-1)
}
