// Command mom is Atlas's command line tool; see internal/mom.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/atlas-gateway/atlas/internal/mom"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mom.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
