// Package e2e holds Atlas's end-to-end tier: the real bin/atlas, the real
// Envoy it manages, stripe-mock and recording upstreams, all on 127.0.0.1.
// A missing Envoy or stripe-mock is a test failure, never a skip: `make test`
// installs both.
package e2e
