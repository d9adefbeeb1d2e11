package manifests

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	meshconfig "istio.io/api/mesh/v1alpha1"
	apinetworking "istio.io/api/networking/v1alpha3"
	apisecurity "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/translate"
)

const (
	istioDir       = "../../deploy/istio"
	meshConfigFile = "meshconfig.yaml"
	// atlasProvider is the extensionProviders name the policies use.
	atlasProvider = "atlas"
	extAuthzName  = "envoy.filters.http.ext_authz"
)

// istioSet is everything the Istio checks look at.
type istioSet struct {
	files map[string][]byte
	objs  []object
	mesh  *meshconfig.MeshConfig
	k8s   []object
	cfg   *model.Config
}

func loadIstio(t *testing.T) istioSet {
	t.Helper()
	var s istioSet
	var err error
	if s.files, err = readDir(istioDir, meshConfigFile); err != nil {
		t.Fatal(err)
	}
	var errs []error
	s.objs, errs = decodeFiles(s.files)
	for _, err := range errs {
		t.Error(err)
	}
	mc, err := os.ReadFile(istioDir + "/" + meshConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.mesh, err = decodeMeshConfig(mc); err != nil {
		t.Errorf("%s: %v", meshConfigFile, err)
	}
	_, s.k8s = loadKubernetes(t)
	if s.cfg, err = atlasConfig(s.k8s); err != nil {
		t.Errorf("Atlas config: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return s
}

func TestIstioManifestsDecodeStrictly(t *testing.T) {
	s := loadIstio(t)
	want := map[string]int{"AuthorizationPolicy": 1, "EnvoyFilter": 2, "Gateway": 1, "VirtualService": 2, "ServiceEntry": 1, "DestinationRule": 1, "Kustomization": 1}
	got := map[string]int{}
	for _, o := range s.objs {
		got[o.Kind]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d %s documents, want %d", got[k], k, n)
		}
	}
	for _, err := range checkKustomization(s.files, s.objs) {
		t.Error(err)
	}
}

// The extension provider is what Atlas's own ext_authz filter does, and
// points at the Kubernetes Service.
func TestMeshConfigProvider(t *testing.T) {
	s := loadIstio(t)
	for _, err := range checkMeshConfig(s) {
		t.Error(err)
	}
}

func TestIstioCrossReferences(t *testing.T) {
	s := loadIstio(t)
	for _, err := range checkIstio(s) {
		t.Error(err)
	}
}

func atlasServiceHost(s istioSet) (string, int32, error) {
	svc := service(s.k8s, atlasDeployment)
	if svc == nil || len(svc.Spec.Ports) != 1 {
		return "", 0, fmt.Errorf("deploy/kubernetes has no atlas Service with one port")
	}
	p := svc.Spec.Ports[0]
	if p.AppProtocol == nil || *p.AppProtocol != "grpc" {
		return "", 0, fmt.Errorf("the atlas Service port needs appProtocol: grpc, or Istio will not speak HTTP/2 to it")
	}
	return fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace), p.Port, nil
}

func checkMeshConfig(s istioSet) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(meshConfigFile+": "+format, a...)) }
	var p *meshconfig.MeshConfig_ExtensionProvider_EnvoyExternalAuthorizationGrpcProvider
	for _, ep := range s.mesh.GetExtensionProviders() {
		if ep.GetName() == atlasProvider {
			p = ep.GetEnvoyExtAuthzGrpc()
		}
	}
	if p == nil {
		return []error{fmt.Errorf("%s: no envoyExtAuthzGrpc extension provider named %q", meshConfigFile, atlasProvider)}
	}
	host, port, err := atlasServiceHost(s)
	if err != nil {
		return []error{err}
	}
	if p.GetService() != host || p.GetPort() != uint32(port) {
		fail("provider points at %s:%d, want the atlas Service %s:%d", p.GetService(), p.GetPort(), host, port)
	}
	if p.GetFailOpen() {
		fail("failOpen must be false: an unreachable Atlas must not let unsigned requests through")
	}
	if p.GetStatusOnError() != "503" {
		fail("statusOnError %q, want \"503\" (what Atlas's own filter answers)", p.GetStatusOnError())
	}
	if d := p.GetTimeout().AsDuration(); p.GetTimeout() == nil || d != 200*time.Millisecond {
		fail("timeout %v, want 0.2s", d)
	}
	b := p.GetIncludeRequestBodyInCheck()
	if b == nil || !b.GetPackAsBytes() || b.GetAllowPartialMessage() {
		fail("includeRequestBodyInCheck must have packAsBytes: true and allowPartialMessage: false: the exact, whole body is the signed payload")
	}
	for _, app := range s.cfg.StripeApps {
		limit := app.MaxBodyBytes
		if limit == 0 {
			limit = model.DefaultMaxBodyBytes
		}
		if b.GetMaxRequestBytes() < limit {
			fail("maxRequestBytes %d is below StripeApp %s's body limit %d", b.GetMaxRequestBytes(), app.Name, limit)
		}
	}
	return errs
}

func checkIstio(s istioSet) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	providers := map[string]bool{}
	for _, ep := range s.mesh.GetExtensionProviders() {
		providers[ep.GetName()] = true
	}
	signed, unsigned := map[string]bool{}, map[string]bool{}
	for _, a := range s.cfg.Adapters {
		if a.StripeApp != nil {
			signed[a.Name] = true
		} else {
			unsigned[a.Name] = true
		}
	}

	// Routes by name, with their URI prefixes; gateways and external hosts.
	routes := map[string][]string{}
	gateways := map[string]bool{}
	for _, g := range find[*networkingv1.Gateway](s.objs) {
		gateways[g.Namespace+"/"+g.Name] = true
	}
	hosts := map[string]bool{}
	for _, se := range find[*networkingv1.ServiceEntry](s.objs) {
		for _, h := range se.Spec.GetHosts() {
			hosts[h] = true
		}
	}
	for _, dr := range find[*networkingv1.DestinationRule](s.objs) {
		if !hosts[dr.Spec.GetHost()] {
			fail("DestinationRule %s/%s: host %s is no ServiceEntry's", dr.Namespace, dr.Name, dr.Spec.GetHost())
		}
	}
	for _, vs := range find[*networkingv1.VirtualService](s.objs) {
		for _, g := range vs.Spec.GetGateways() {
			if !gateways[g] {
				fail("VirtualService %s/%s: gateway %s does not exist", vs.Namespace, vs.Name, g)
			}
		}
		for _, h := range vs.Spec.GetHttp() {
			var prefixes []string
			for _, m := range h.GetMatch() {
				prefixes = append(prefixes, m.GetUri().GetPrefix())
			}
			routes[h.GetName()] = prefixes
			for _, r := range h.GetRoute() {
				if !hosts[r.GetDestination().GetHost()] {
					fail("VirtualService %s/%s route %s: destination %s is no ServiceEntry's host", vs.Namespace, vs.Name, h.GetName(), r.GetDestination().GetHost())
				}
			}
		}
	}

	// The CUSTOM policy: provider registered, one path per signed adapter.
	var policySelector map[string]string
	for _, ap := range find[*securityv1.AuthorizationPolicy](s.objs) {
		where := "AuthorizationPolicy " + ap.Namespace + "/" + ap.Name
		if ap.Spec.GetAction() != apisecurity.AuthorizationPolicy_CUSTOM {
			continue
		}
		name := ap.Spec.GetProvider().GetName()
		if !providers[name] {
			fail("%s: provider %q is not an extensionProviders entry of %s", where, name, meshConfigFile)
		}
		if name != atlasProvider {
			continue
		}
		policySelector = ap.Spec.GetSelector().GetMatchLabels()
		var paths []string
		for _, r := range ap.Spec.GetRules() {
			for _, to := range r.GetTo() {
				paths = append(paths, to.GetOperation().GetPaths()...)
			}
		}
		var want []string
		for a := range signed {
			want = append(want, adapterPath(a)+"*")
		}
		sort.Strings(paths)
		sort.Strings(want)
		if strings.Join(paths, ",") != strings.Join(want, ",") {
			fail("%s: paths %v, want one per adapter with spec.stripeApp: %v", where, paths, want)
		}
	}
	if policySelector == nil {
		fail("no CUSTOM AuthorizationPolicy with provider %q", atlasProvider)
	}

	host, port, err := atlasServiceHost(s)
	if err != nil {
		return append(errs, err)
	}
	atlasCluster := fmt.Sprintf("outbound|%d||%s", port, host)
	adaptersSeen := map[string]bool{}
	for _, ef := range find[*networkingv1alpha3.EnvoyFilter](s.objs) {
		where := "EnvoyFilter " + ef.Namespace + "/" + ef.Name
		selector := ef.Spec.GetWorkloadSelector().GetLabels()
		for i, cp := range ef.Spec.GetConfigPatches() {
			at := fmt.Sprintf("%s patch %d", where, i+1)
			value, err := protojson.Marshal(cp.GetPatch().GetValue())
			if err != nil {
				fail("%s: %v", at, err)
				continue
			}
			switch cp.GetApplyTo() {
			case apinetworking.EnvoyFilter_HTTP_FILTER:
				var f hcmv3.HttpFilter
				if err := strictProto(value, &f); err != nil {
					fail("%s: value is not an Envoy HttpFilter: %v", at, err)
					continue
				}
				errs = append(errs, checkExtProcFilter(at, &f, atlasCluster)...)
				if len(selected(s.k8s, ef.Namespace, selector)) == 0 {
					fail("%s: workloadSelector %v matches no Deployment's pods in %s", at, selector, ef.Namespace)
				}
			case apinetworking.EnvoyFilter_HTTP_ROUTE:
				var r routev3.Route
				if err := strictProto(value, &r); err != nil {
					fail("%s: value is not an Envoy Route: %v", at, err)
					continue
				}
				name := cp.GetMatch().GetRouteConfiguration().GetVhost().GetRoute().GetName()
				prefixes, ok := routes[name]
				if !ok {
					fail("%s: route %q is no VirtualService http route's name", at, name)
				}
				for filter, cfg := range r.GetTypedPerFilterConfig() {
					adapter, kind, err := routeAdapter(filter, cfg)
					if err != nil {
						fail("%s: %s: %v", at, filter, err)
						continue
					}
					adaptersSeen[adapter] = true
					switch kind {
					case "ext_authz":
						if !signed[adapter] {
							fail("%s: ext_authz names adapter %q, which has no spec.stripeApp in the Atlas config (Atlas would answer 404)", at, adapter)
						}
						for _, p := range prefixes {
							if p != adapterPath(adapter) {
								fail("%s: route %s matches prefix %q, not %s", at, name, p, adapterPath(adapter))
							}
						}
						if !equalLabels(selector, policySelector) || ef.Namespace != "istio-system" {
							fail("%s: must select the same workloads as the CUSTOM AuthorizationPolicy (%v)", at, policySelector)
						}
					case "ext_proc":
						if !unsigned[adapter] {
							fail("%s: ext_proc injection names adapter %q, which is not an adapter without spec.stripeApp in the Atlas config", at, adapter)
						}
					}
				}
			default:
				fail("%s: applyTo %s is not checked by test/manifests; add a decoder for it", at, cp.GetApplyTo())
			}
		}
	}
	for a := range signed {
		if !adaptersSeen[a] {
			fail("no EnvoyFilter route patch gives ext_authz the adapter name %q", a)
		}
	}
	return errs
}

func adapterPath(adapter string) string { return "/v1/apis/http/" + adapter + "/" }

// checkExtProcFilter: the inserted ext_proc filter talks to Atlas, fails
// closed, sends request headers only, and is off unless a route enables it.
func checkExtProcFilter(at string, f *hcmv3.HttpFilter, atlasCluster string) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(at+": "+format, a...)) }
	if f.GetName() != translate.ExtProcFilterName {
		fail("inserts %q; only %s is checked", f.GetName(), translate.ExtProcFilterName)
		return errs
	}
	var ep extprocv3.ExternalProcessor
	if err := f.GetTypedConfig().UnmarshalTo(&ep); err != nil {
		fail("typed_config: %v", err)
		return errs
	}
	if !f.GetDisabled() {
		fail("the ext_proc filter must be disabled at the listener and enabled per route, or every request would call Atlas without an adapter")
	}
	if c := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); c != atlasCluster {
		fail("ext_proc cluster %q, want Istio's cluster for the atlas Service %q", c, atlasCluster)
	}
	if ep.GetFailureModeAllow() {
		fail("failure_mode_allow must be false")
	}
	m := ep.GetProcessingMode()
	if m.GetRequestHeaderMode() != extprocv3.ProcessingMode_SEND || m.GetRequestBodyMode() != extprocv3.ProcessingMode_NONE ||
		m.GetResponseHeaderMode() != extprocv3.ProcessingMode_SKIP {
		fail("processing mode must send request headers only")
	}
	return errs
}

// routeAdapter reads the adapter name a route's per-filter config gives
// Atlas: ext_authz's context_extensions["adapter"], or ext_proc's gRPC
// initial metadata x-atlas-adapter.
func routeAdapter(filter string, cfg *anypb.Any) (adapter, kind string, err error) {
	switch filter {
	case extAuthzName:
		var pr extauthzv3.ExtAuthzPerRoute
		if err := cfg.UnmarshalTo(&pr); err != nil {
			return "", "", err
		}
		a := pr.GetCheckSettings().GetContextExtensions()[translate.ContextAdapterKey]
		if a == "" {
			return "", "", fmt.Errorf("no context_extensions[%q]", translate.ContextAdapterKey)
		}
		return a, "ext_authz", nil
	case translate.ExtProcFilterName:
		var fc routev3.FilterConfig
		if err := cfg.UnmarshalTo(&fc); err != nil {
			return "", "", fmt.Errorf("must be a FilterConfig (to enable the disabled filter): %w", err)
		}
		var pr extprocv3.ExtProcPerRoute
		if err := fc.GetConfig().UnmarshalTo(&pr); err != nil {
			return "", "", err
		}
		for _, h := range pr.GetOverrides().GetGrpcInitialMetadata() {
			if h.GetKey() == translate.AdapterMetadataKey {
				return h.GetValue(), "ext_proc", nil
			}
		}
		return "", "", fmt.Errorf("no gRPC initial metadata %s", translate.AdapterMetadataKey)
	}
	return "", "", fmt.Errorf("unexpected per-filter config %s", proto.MessageName(cfg))
}

func equalLabels(a, b map[string]string) bool {
	return len(a) == len(b) && subset(a, b)
}
