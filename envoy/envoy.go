// Package envoy holds the Envoy bootstrap template Atlas renders for its
// managed Envoy and for sidecars. The template is the only source of truth:
// envoy/bootstrap.yaml is its rendering with the defaults, kept in sync by a
// test, for users who start Envoy themselves.
package envoy

import (
	"bytes"
	_ "embed"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"text/template"
)

//go:embed bootstrap.yaml.tmpl
var bootstrapTemplate string

var tmpl = template.Must(template.New("bootstrap").Parse(bootstrapTemplate))

// Bootstrap describes one Envoy's link to the control plane.
type Bootstrap struct {
	NodeID  string
	Cluster string
	// XDSAddress is the Atlas gRPC address, host:port.
	XDSAddress string
	// AdminAddress is Envoy's own admin listener, host:port (keep it on loopback).
	AdminAddress   string
	MaxConnections uint32
}

// Defaults are the values envoy/bootstrap.yaml is rendered with.
func Defaults() Bootstrap {
	return Bootstrap{
		NodeID:         "atlas-sidecar",
		Cluster:        "atlas",
		XDSAddress:     "127.0.0.1:18000",
		AdminAddress:   "127.0.0.1:9901",
		MaxConnections: 50000,
	}
}

// Render returns the bootstrap YAML.
func Render(b Bootstrap) ([]byte, error) {
	xh, xp, err := splitHostPort("xDS address", b.XDSAddress)
	if err != nil {
		return nil, err
	}
	ah, ap, err := splitHostPort("Envoy admin address", b.AdminAddress)
	if err != nil {
		return nil, err
	}
	if b.NodeID == "" || b.Cluster == "" {
		return nil, fmt.Errorf("envoy bootstrap: node id and cluster must not be empty")
	}
	if b.MaxConnections == 0 {
		b.MaxConnections = Defaults().MaxConnections
	}
	discovery := "STRICT_DNS"
	if _, err := netip.ParseAddr(xh); err == nil {
		discovery = "STATIC"
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"NodeID": strconv.Quote(b.NodeID), "Cluster": strconv.Quote(b.Cluster),
		"XDSHost": xh, "XDSPort": xp, "XDSDiscovery": discovery,
		"AdminHost": ah, "AdminPort": ap, "MaxConnections": b.MaxConnections,
	})
	return buf.Bytes(), err
}

func splitHostPort(what, addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("envoy bootstrap: %s %q is not host:port: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || h == "" {
		return "", 0, fmt.Errorf("envoy bootstrap: %s %q needs a host and a port between 1 and 65535", what, addr)
	}
	return h, port, nil
}
