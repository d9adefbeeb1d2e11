// Package grpctest serves gRPC services on loopback for in-process tests
// (the second of the three test tiers: real gRPC, no Envoy).
package grpctest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Serve runs a gRPC server with the services register adds on 127.0.0.1:0
// and returns a client connection to it; both end with the test. Stop
// waits for stream handlers, so none logs to t after the test ends.
func Serve(t testing.TB, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	g := grpc.NewServer(grpc.WaitForHandlers(true))
	register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
