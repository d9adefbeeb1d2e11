package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/atlas-gateway/atlas/internal/apps"
	"github.com/atlas-gateway/atlas/internal/store"
)

// DefaultAppsAddress is where the apps server (Secret Store, OAuth broker)
// listens unless --apps-address says otherwise.
const DefaultAppsAddress = "127.0.0.1:18001"

// appsServer is the running apps server; nil methods are no-ops, so a
// disabled server needs no checks at the call sites.
type appsServer struct {
	srv  *http.Server
	lis  net.Listener
	log  *slog.Logger
	addr string
}

// startApps binds addr and wires the apps server into gw: gw.apply keeps
// its StripeApps current, and Envoy reaches it through the atlas_apps
// cluster at the bound address (so a port of 0 works). An empty addr turns
// it off: no Secret Store, no apps routes. The address must be loopback:
// Envoy is the edge, and the apps server is reached only through it.
func startApps(log *slog.Logger, addr string, st store.Store, gw *gateway) (*appsServer, error) {
	log = log.With("component", "apps")
	if addr == "" {
		log.Info("apps server off (--apps-address is empty): no Secret Store, no OAuth endpoints")
		return nil, nil
	}
	if err := checkAppsAddress(addr); err != nil {
		return nil, err
	}
	secrets, ok := st.(store.AppSecretStore)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot hold Secret Store secrets", st)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on --apps-address %s: %w (is another atlas running? pick a free port, e.g. --apps-address 127.0.0.1:0)", addr, err)
	}
	gw.apps = apps.New(log, secrets, nil)
	gw.opts.AppsAddress = lis.Addr().String()
	srv := &http.Server{Handler: gw.apps.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("apps server listening", "address", gw.opts.AppsAddress)
	return &appsServer{srv: srv, lis: lis, log: log, addr: gw.opts.AppsAddress}, nil
}

func checkAppsAddress(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--apps-address %q: %w; use a loopback IP:PORT such as %s", addr, err, DefaultAppsAddress)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--apps-address %q: use a loopback IP address such as %s; the apps server is reached only through Envoy", addr, DefaultAppsAddress)
	}
	return nil
}

// serve starts answering; a failure is reported on serveErr (without
// blocking: run stops at the first error it reads).
func (a *appsServer) serve(serveErr chan<- error) {
	if a == nil {
		return
	}
	go func() {
		if err := a.srv.Serve(a.lis); !errors.Is(err, http.ErrServerClosed) {
			err = fmt.Errorf("apps server on %s: %w", a.addr, err)
			select {
			case serveErr <- err:
			default:
				a.log.Error("apps server stopped", "error", err)
			}
		}
	}()
}

// stop lets requests in flight finish, for up to timeout.
func (a *appsServer) stop(timeout time.Duration) {
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.log.Warn("apps server did not stop cleanly", "error", err)
	}
	_ = a.lis.Close() // when serve never ran
}
