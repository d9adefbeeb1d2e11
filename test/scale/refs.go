package main

import (
	"fmt"
	"slices"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	credv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"
)

// refs are the resources of other types that one listener or cluster makes
// Envoy subscribe to by name: the RDS route configurations a listener's
// HTTP connection manager names, and the SDS secrets of credential_injector
// filters (in the listener's HCM, or since the per-adapter clusters, in a
// cluster's upstream HTTP filters).
type refs struct {
	routes  []string
	secrets []string
}

var noRefs = &refs{}

func (r *refs) normalize() *refs {
	slices.Sort(r.routes)
	slices.Sort(r.secrets)
	r.routes, r.secrets = slices.Compact(r.routes), slices.Compact(r.secrets)
	if len(r.routes) == 0 && len(r.secrets) == 0 {
		return noRefs
	}
	return r
}

// Type URLs of the typed configs the client looks into.
const (
	hcmURL         = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	credInjURL     = "type.googleapis.com/envoy.extensions.filters.http.credential_injector.v3.CredentialInjector"
	genericCredURL = "type.googleapis.com/envoy.extensions.http.injected_credentials.generic.v3.Generic"
	httpOptsURL    = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// ---- full: generated protobuf code ----

func listenerRefs(l *listenerv3.Listener) (*refs, error) {
	r := &refs{}
	chains := l.GetFilterChains()
	if d := l.GetDefaultFilterChain(); d != nil {
		chains = append(slices.Clip(chains), d)
	}
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			var hcm hcmv3.HttpConnectionManager
			if tc := f.GetTypedConfig(); tc == nil || !tc.MessageIs(&hcm) {
				continue
			}
			if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
				return nil, fmt.Errorf("listener %s: %w", l.GetName(), err)
			}
			if n := hcm.GetRds().GetRouteConfigName(); n != "" {
				r.routes = append(r.routes, n)
			}
			for _, hf := range hcm.GetHttpFilters() {
				if err := injectorSecret(hf.GetTypedConfig(), r); err != nil {
					return nil, fmt.Errorf("listener %s: %w", l.GetName(), err)
				}
			}
		}
	}
	return r.normalize(), nil
}

func clusterRefs(c *clusterv3.Cluster) (*refs, error) {
	r := &refs{}
	for _, a := range c.GetTypedExtensionProtocolOptions() {
		var o httpv3.HttpProtocolOptions
		if !a.MessageIs(&o) {
			continue
		}
		if err := a.UnmarshalTo(&o); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.GetName(), err)
		}
		for _, hf := range o.GetHttpFilters() {
			if err := injectorSecret(hf.GetTypedConfig(), r); err != nil {
				return nil, fmt.Errorf("cluster %s: %w", c.GetName(), err)
			}
		}
	}
	return r.normalize(), nil
}

// injectorSecret adds the SDS secret of a credential_injector filter's
// generic credential to r (other filters are ignored).
func injectorSecret(tc *anypb.Any, r *refs) error {
	var ci credv3.CredentialInjector
	if tc == nil || !tc.MessageIs(&ci) {
		return nil
	}
	if err := tc.UnmarshalTo(&ci); err != nil {
		return err
	}
	var g genericv3.Generic
	if ct := ci.GetCredential().GetTypedConfig(); ct == nil || !ct.MessageIs(&g) {
		return nil
	} else if err := ct.UnmarshalTo(&g); err != nil {
		return err
	}
	if n := g.GetCredential().GetName(); n != "" {
		r.secrets = append(r.secrets, n)
	}
	return nil
}

// ---- light: the same walk over the wire format, decoding nothing else ----

// Field numbers of the messages the light scan walks through.
const (
	fListenerFilterChains   = 3  // envoy.config.listener.v3.Listener
	fListenerDefaultChain   = 25 //
	fFilterChainFilters     = 3  // FilterChain
	fFilterTypedConfig      = 4  // Filter
	fAnyTypeURL             = 1  // google.protobuf.Any
	fAnyValue               = 2  //
	fHCMRds                 = 3  // HttpConnectionManager
	fHCMHTTPFilters         = 5  //
	fRdsRouteConfigName     = 2  // Rds
	fHTTPFilterTypedConfig  = 4  // HttpFilter
	fCredInjCredential      = 3  // CredentialInjector
	fTypedExtConfigTyped    = 2  // TypedExtensionConfig
	fGenericCredential      = 1  // generic.v3.Generic
	fSdsSecretConfigName    = 1  // SdsSecretConfig
	fClusterProtocolOptions = 36 // Cluster.typed_extension_protocol_options (map<string, Any>)
	fMapValue               = 2  // map entry
	fHTTPOptsHTTPFilters    = 6  // HttpProtocolOptions
)

// fields calls fn with every length-delimited field of b (the only kind
// the scan descends into) and skips the others.
func fields(b []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			if err := fn(num, v); err != nil {
				return err
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil
}

// anyOf splits a google.protobuf.Any into its type URL and value.
func anyOf(b []byte) (typeURL string, value []byte, err error) {
	err = fields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fAnyTypeURL:
			typeURL = string(v)
		case fAnyValue:
			value = v
		}
		return nil
	})
	return typeURL, value, err
}

// in calls fn with the value of an Any field if it is of type want.
func in(b []byte, want string, fn func([]byte) error) error {
	t, v, err := anyOf(b)
	if err != nil || t != want {
		return err
	}
	return fn(v)
}

func scanListener(b []byte) (*refs, error) {
	r := &refs{}
	err := fields(b, func(num protowire.Number, chain []byte) error {
		if num != fListenerFilterChains && num != fListenerDefaultChain {
			return nil
		}
		return fields(chain, func(num protowire.Number, filter []byte) error {
			if num != fFilterChainFilters {
				return nil
			}
			return fields(filter, func(num protowire.Number, tc []byte) error {
				if num != fFilterTypedConfig {
					return nil
				}
				return in(tc, hcmURL, func(hcm []byte) error {
					return fields(hcm, func(num protowire.Number, v []byte) error {
						switch num {
						case fHCMRds:
							return fields(v, func(num protowire.Number, name []byte) error {
								if num == fRdsRouteConfigName && len(name) > 0 {
									r.routes = append(r.routes, string(name))
								}
								return nil
							})
						case fHCMHTTPFilters:
							return scanInjector(v, r)
						}
						return nil
					})
				})
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	return r.normalize(), nil
}

func scanCluster(b []byte) (*refs, error) {
	r := &refs{}
	err := fields(b, func(num protowire.Number, entry []byte) error {
		if num != fClusterProtocolOptions {
			return nil
		}
		return fields(entry, func(num protowire.Number, a []byte) error {
			if num != fMapValue {
				return nil
			}
			return in(a, httpOptsURL, func(opts []byte) error {
				return fields(opts, func(num protowire.Number, hf []byte) error {
					if num != fHTTPOptsHTTPFilters {
						return nil
					}
					return scanInjector(hf, r)
				})
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return r.normalize(), nil
}

// scanInjector reads one HttpFilter: the secret name if it is a
// credential_injector with a generic credential.
func scanInjector(hf []byte, r *refs) error {
	return fields(hf, func(num protowire.Number, tc []byte) error {
		if num != fHTTPFilterTypedConfig {
			return nil
		}
		return in(tc, credInjURL, func(ci []byte) error {
			return fields(ci, func(num protowire.Number, ext []byte) error {
				if num != fCredInjCredential {
					return nil
				}
				return fields(ext, func(num protowire.Number, a []byte) error {
					if num != fTypedExtConfigTyped {
						return nil
					}
					return in(a, genericCredURL, func(g []byte) error {
						return fields(g, func(num protowire.Number, sds []byte) error {
							if num != fGenericCredential {
								return nil
							}
							return fields(sds, func(num protowire.Number, name []byte) error {
								if num == fSdsSecretConfigName && len(name) > 0 {
									r.secrets = append(r.secrets, string(name))
								}
								return nil
							})
						})
					})
				})
			})
		})
	})
}

// scanCache shares the light scan of listeners and clusters between the
// clients of the process: every client receives byte-identical resources,
// so each distinct one is scanned once (200 real Envoys would each do it on
// their own CPU, not on the control plane's). Keyed by type and name; an
// entry is reused only for the very same bytes. The name stored is shared
// too, as are the names intern returns.
type scanCache struct {
	mu sync.RWMutex
	m  map[string]map[string]*scanned
}

type scanned struct {
	name string
	raw  string
	refs *refs
}

var scans = &scanCache{m: map[string]map[string]*scanned{}}

func (c *scanCache) get(typeURL string, name, raw []byte, scan func([]byte) (*refs, error)) (string, *refs, error) {
	c.mu.RLock()
	e := c.m[typeURL][string(name)]
	c.mu.RUnlock()
	if e != nil && e.raw == string(raw) {
		return e.name, e.refs, nil
	}
	r, err := scan(raw)
	if err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	byName := c.m[typeURL]
	if byName == nil {
		byName = map[string]*scanned{}
		c.m[typeURL] = byName
	}
	n := string(name)
	if e != nil {
		n = e.name
	}
	byName[n] = &scanned{name: n, raw: string(raw), refs: r}
	return n, r, nil
}

var names = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

// intern returns one shared string per distinct resource name.
func intern(b []byte) string {
	names.RLock()
	s, ok := names.m[string(b)]
	names.RUnlock()
	if ok {
		return s
	}
	names.Lock()
	defer names.Unlock()
	if s, ok := names.m[string(b)]; ok {
		return s
	}
	s = string(b)
	names.m[s] = s
	return s
}
