package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	credv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/atlas-gateway/atlas/internal/translate"
	"github.com/atlas-gateway/atlas/internal/xds"
)

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func injector(t *testing.T, secret string) *hcmv3.HttpFilter {
	g := &genericv3.Generic{Credential: &tlsv3.SdsSecretConfig{Name: secret, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}}, Header: "Authorization"}
	ci := &credv3.CredentialInjector{Overwrite: true, Credential: &corev3.TypedExtensionConfig{Name: "generic", TypedConfig: mustAny(t, g)}}
	return &hcmv3.HttpFilter{Name: "inj", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, ci)}}
}

// Both layouts by hand: secrets named by the listener's HCM, and by a
// cluster's upstream HTTP filters.
func TestScanMatchesGeneratedCode(t *testing.T) {
	hcm := &hcmv3.HttpConnectionManager{
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: "atlas_routes"}},
		HttpFilters:    []*hcmv3.HttpFilter{injector(t, "atlas/b/x"), injector(t, "atlas/a/authorization"), {Name: "router"}},
	}
	lis := &listenerv3.Listener{Name: "l", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{
		{Name: "hcm", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, hcm)}}}}}}
	opts := &httpv3.HttpProtocolOptions{HttpFilters: []*hcmv3.HttpFilter{injector(t, "atlas/c/authorization"), injector(t, "atlas/c/x-api-key"), {Name: "codec"}}}
	clu := &clusterv3.Cluster{Name: "atlas_adapter_c", TypedExtensionProtocolOptions: map[string]*anypb.Any{
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(t, opts)}}
	plain := &clusterv3.Cluster{Name: "atlas_http_x_80"}

	check := func(name string, got, want *refs) {
		t.Helper()
		if !slices.Equal(got.routes, want.routes) || !slices.Equal(got.secrets, want.secrets) {
			t.Errorf("%s: scan %v %v, generated code %v %v", name, got.routes, got.secrets, want.routes, want.secrets)
		}
	}
	b, _ := proto.Marshal(lis)
	ls, err := scanListener(b)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := listenerRefs(lis)
	if err != nil {
		t.Fatal(err)
	}
	check("listener", ls, lf)
	if !slices.Equal(lf.routes, []string{"atlas_routes"}) || !slices.Equal(lf.secrets, []string{"atlas/a/authorization", "atlas/b/x"}) {
		t.Errorf("listener refs %v %v", lf.routes, lf.secrets)
	}
	for _, c := range []*clusterv3.Cluster{clu, plain} {
		b, _ := proto.Marshal(c)
		cs, err := scanCluster(b)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := clusterRefs(c)
		if err != nil {
			t.Fatal(err)
		}
		check(c.Name, cs, cf)
	}
	if r, _ := clusterRefs(clu); !slices.Equal(r.secrets, []string{"atlas/c/authorization", "atlas/c/x-api-key"}) {
		t.Errorf("cluster refs %v", r.secrets)
	}
}

// Whatever the translator's layout, following listeners and clusters finds
// every secret it publishes, and the scan agrees with the generated code.
func TestRefsOfTranslatedConfig(t *testing.T) {
	res, err := translate.Translate(buildConfig(60), translate.Options{Injection: translate.InjectionStatic, ListenAddress: "0.0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]map[string]bool{resource.RouteType: {}, resource.SecretType: {}}
	for _, l := range res.Listeners {
		r, err := listenerRefs(l.(*listenerv3.Listener))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(l)
		s, err := scanListener(b)
		if err != nil || !slices.Equal(s.routes, r.routes) || !slices.Equal(s.secrets, r.secrets) {
			t.Fatalf("listener: scan %v (%v), generated code %v", s, err, r)
		}
		addRefs(named, r)
	}
	for _, c := range res.Clusters {
		r, err := clusterRefs(c.(*clusterv3.Cluster))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(c)
		s, err := scanCluster(b)
		if err != nil || !slices.Equal(s.routes, r.routes) || !slices.Equal(s.secrets, r.secrets) {
			t.Fatalf("cluster %s: scan %v (%v), generated code %v", cachev3.GetResourceName(c), s, err, r)
		}
		addRefs(named, r)
	}
	if len(res.Secrets) == 0 || len(named[resource.SecretType]) != len(res.Secrets) {
		t.Fatalf("%d secrets referenced, %d published", len(named[resource.SecretType]), len(res.Secrets))
	}
	for _, s := range res.Secrets {
		if !named[resource.SecretType][cachev3.GetResourceName(s)] {
			t.Errorf("secret %s is not referenced", cachev3.GetResourceName(s))
		}
	}
	for _, r := range res.Routes {
		if !named[resource.RouteType][cachev3.GetResourceName(r)] {
			t.Errorf("route configuration %s is not referenced", cachev3.GetResourceName(r))
		}
	}
}

func secretNames(res *translate.Resources) []string {
	var out []string
	for _, s := range res.Secrets {
		out = append(out, cachev3.GetResourceName(s))
	}
	sort.Strings(out)
	return out
}

// The clients against the real xds.Server: they subscribe to what is
// referenced, follow an added and a removed adapter, and ACK so that the
// server's fleet state shows them delivered.
func TestClientsFollowChanges(t *testing.T) {
	for _, proto := range []string{protocolDelta, protocolSotW} {
		for _, mode := range []string{clientLight, clientFull} {
			t.Run(proto+"_"+mode, func(t *testing.T) { testClients(t, proto, mode) })
		}
	}
}

func testClients(t *testing.T, protocol, mode string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := xds.New(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()

	opts := translate.Options{Injection: translate.InjectionStatic, ListenAddress: "0.0.0.0"}
	o := &options{protocol: protocol, clientMode: mode, sds: sdsNamed}
	follow, delta := true, protocol == protocolDelta
	base := buildConfig(20)
	configs := []*translate.Resources{}
	for _, n := range []int{0, 1, 0} { // the baseline, one adapter added, removed again
		r, err := translate.Translate(withAdapters(base, n), opts)
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, r)
	}

	const n = 3
	type state struct {
		id      int
		secrets []string
	}
	states := make(chan state, 1000)
	var clients []*adsClient
	for i := 0; i < n; i++ {
		c, err := dialClient(ctx, lis.Addr().String(), i, o, func(int, string) {})
		if err != nil {
			t.Fatal(err)
		}
		c.onReply = func() {
			var s []string
			for name := range c.types[resource.SecretType].have {
				s = append(s, name)
			}
			sort.Strings(s)
			states <- state{c.id, s}
		}
		clients = append(clients, c)
	}
	tg := targets{}
	var prev *translate.Resources
	for step, res := range configs {
		for len(states) > 0 {
			<-states
		}
		if _, err := srv.Publish(ctx, res); err != nil {
			t.Fatal(err)
		}
		ch, err := diffResources(prev, res, follow, delta)
		if err != nil {
			t.Fatal(err)
		}
		tg.advance(srv, ch)
		prev = res
		if step == 0 {
			for _, c := range clients {
				go func() {
					if err := c.run(); err != nil && ctx.Err() == nil {
						t.Errorf("client %d: %v", c.id, err)
					}
				}()
			}
		}
		want := secretNames(res)
		ok := map[int]bool{}
		timeout := time.After(20 * time.Second)
		for len(ok) < n {
			select {
			case s := <-states:
				ok[s.id] = slices.Equal(s.secrets, want)
				if !ok[s.id] {
					delete(ok, s.id)
				}
			case <-timeout:
				t.Fatalf("step %d: %d of %d clients hold the %d secrets published", step, len(ok), n, len(want))
			}
		}
		if len(srv.Fleet()) == 0 {
			t.Logf("step %d: the server does not track %s streams; skipping its delivery state", step, protocol)
			continue
		}
		if _, err := waitDelivered(ctx, srv, time.Now(), tg, 10*time.Second); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}
