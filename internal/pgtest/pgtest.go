// Package pgtest runs a real, throwaway PostgreSQL server for tests: the
// Debian binaries (initdb, pg_ctl, postgres), a fresh cluster in a
// temporary directory, listening on 127.0.0.1 and a free port (its unix
// socket stays in that directory), with fsync on so durability behaves as
// in production.
//
// A test calls Start (or StartServer) and gets a DSN; the server is stopped
// (pg_ctl stop -m immediate) and its directory removed when the test ends.
// When the binaries are missing the test FAILS, naming the package to
// install: a PostgreSQL test that silently skips proves nothing.
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// server and its tools run as the "postgres" user (which Debian's package
// creates), with the directory chowned to it.
//
// Run and Server are the non-testing entry points, for a TestMain or a
// harness that starts one server for several tests.
package pgtest

import (
	"context"
	"testing"
)

// Start starts a PostgreSQL server for t and returns a DSN for its
// "postgres" database (user postgres, trust authentication). It fails t
// if the server cannot start.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).DSN
}

// StartServer is Start returning the Server, for tests that also need
// CreateDatabase or Dump.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s, err := Run(context.WithoutCancel(t.Context()))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}
