package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/atlas-gateway/atlas/internal/apps"
	"github.com/atlas-gateway/atlas/internal/metrics"
	"github.com/atlas-gateway/atlas/internal/oauth"
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
// its StripeApps (and their OAuth providers) current, and Envoy reaches it
// through the atlas_apps cluster at the bound address (so a port of 0
// works). The OAuth broker (internal/oauth) is mounted on it at
// /v1/oauth/ and /v1/apis/oauth/, with the store for its state, the apps
// server's signature checks, and m (when not nil) counting refreshes. An
// empty addr turns it off: no Secret Store, no OAuth, no apps routes. The
// address must be loopback: Envoy is the edge, and the apps server is
// reached only through it.
func startApps(log *slog.Logger, addr string, st store.Store, gw *gateway, m *metrics.Metrics) (*appsServer, error) {
	base := log
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
	oauthStore, ok := st.(oauth.Store)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot hold OAuth logins and tokens", st)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on --apps-address %s: %w (is another atlas running? pick a free port, e.g. --apps-address 127.0.0.1:0)", addr, err)
	}
	gw.apps = apps.New(log, secrets, nil)
	gw.oauth = newBroker(base.With("component", "oauth"), oauthStore, gw.apps, m)
	gw.apps.Handle("/v1/oauth/", gw.oauth.Handler())
	gw.apps.Handle("/v1/apis/oauth/", gw.oauth.Handler())
	gw.opts.AppsAddress = lis.Addr().String()
	srv := &http.Server{Handler: gw.apps.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("apps server listening", "address", gw.opts.AppsAddress)
	return &appsServer{srv: srv, lis: lis, log: log, addr: gw.opts.AppsAddress}, nil
}

// newBroker is the OAuth broker as internal/oauth's doc describes its
// mounting: the gateway's store, the apps server's authentication, and
// refreshes counted in m.
func newBroker(log *slog.Logger, st oauth.Store, srv *apps.Server, m *metrics.Metrics) *oauth.Broker {
	o := oauth.Options{Store: st, Auth: appsAuthenticator(srv), Logger: log}
	if m != nil {
		o.OnRefresh = func(provider string, ok bool) {
			result := metrics.RefreshFailed
			if ok {
				result = metrics.RefreshSuccess
			}
			m.OAuthRefresh(provider, result)
		}
	}
	return oauth.New(o)
}

// appsAuthenticator verifies a broker request with the apps server, against
// the secrets (and key) of the StripeApp that declares the request's
// provider only. Its refusals (Stripe-shaped 4xx) go to the client as they
// are. A caller authenticated by the app's backend key has no user, which
// the broker refuses: OAuth tokens are per user.
func appsAuthenticator(srv *apps.Server) oauth.Authenticator {
	return oauth.AuthenticatorFunc(func(r *http.Request) (oauth.Caller, error) {
		// The broker has buffered the body within the app's maxBodyBytes.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return oauth.Caller{}, fmt.Errorf("reading the buffered body: %w", err)
		}
		c, apiErr := srv.AuthenticateApp(r, body, oauth.ExpectedApp(r.Context()))
		if apiErr != nil {
			return oauth.Caller{}, &oauth.Error{Status: apiErr.Status, Code: apiErr.Code, Message: apiErr.Message}
		}
		return oauth.Caller{App: c.App, Account: c.Account, User: c.User}, nil
	})
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
