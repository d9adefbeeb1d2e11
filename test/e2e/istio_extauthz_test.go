package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	meshconfig "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
	"sigs.k8s.io/yaml"
)

// Issue #6, service mesh: the Istio extension provider in
// deploy/istio/meshconfig.yaml, with the adapter name that
// deploy/istio/envoyfilter.yaml adds to the gateway route, works against a
// real Atlas. Our real Envoy runs a static configuration shaped exactly like
// what istiod generates for an AuthorizationPolicy with action CUSTOM and an
// envoyExtAuthzGrpc provider (pilot/pkg/security/authz/builder): an RBAC
// filter in shadow mode that marks the requests the policy's rules match,
// then the ext_authz filter, enabled only on those marks, with the provider's
// gRPC service (Istio's outbound cluster name and authority), timeout,
// failOpen, statusOnError and includeRequestBodyInCheck. The provider
// values and the route's per-filter config are read from the shipped files,
// so this test breaks when they do.
func TestIstioExtAuthzProvider(t *testing.T) {
	provider := shippedAtlasProvider(t)
	perRoute := shippedExtAuthzRoutePatch(t)

	up := startRecorder(t)
	xdsPort := freePort(t)
	a := startAtlas(t, signedConfig(up.port(), "STRIPE_APP_SECRET"), signedEnv,
		"--envoy", "external", "--xds-address", fmt.Sprintf("127.0.0.1:%d", xdsPort))
	waitListening(t, a, xdsPort)

	listen, admin := freePort(t), freePort(t)
	path := filepath.Join(t.TempDir(), "istio-gateway.yaml")
	if err := os.WriteFile(path, []byte(istioGatewayBootstrap(t, provider, perRoute, listen, admin, xdsPort, up.port())), 0o600); err != nil {
		t.Fatal(err)
	}
	envoy := exec.Command(envoyBin, "-c", path, "--disable-hot-restart", "--log-level", "warning")
	var logs syncBuffer
	envoy.Stdout, envoy.Stderr = &logs, &logs
	if err := envoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = envoy.Process.Kill()
		_ = envoy.Wait()
		if t.Failed() {
			t.Logf("envoy logs:\n%s", logs.String())
		}
	})
	gw := &atlas{t: t, ingress: listen, logs: &logs}
	gw.waitStatus("/v1/apis/http/plain/ready", 200) // outside the policy: Atlas is not asked

	user := `{"user_id":"usr_e2e","account_id":"acct_e2e"}`
	body := `{"amount":"1000","user_id":"usr_e2e","account_id":"acct_e2e"}`
	forwarded := func(t *testing.T, before int) recorded {
		t.Helper()
		got := up.requests()[before:]
		if len(got) != 1 {
			t.Fatalf("upstream saw %d requests, want 1", len(got))
		}
		return got[0]
	}
	checkVerified := func(t *testing.T, r recorded, wantPath string) {
		t.Helper()
		if r.Path != wantPath {
			t.Errorf("upstream path %q, want %q", r.Path, wantPath)
		}
		for h, want := range map[string]string{
			"Authorization":             "Bearer " + stripeKey, // the adapter's key, from Atlas
			"Stripe-Account":            "acct_e2e",            // onBehalfOf: the signed account
			"Atlas-Verified-User-Id":    "usr_e2e",
			"Atlas-Verified-Account-Id": "acct_e2e",
			"Atlas-Verified-Stripe-App": "my-app",
		} {
			if v := r.Header.Values(h); len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q at the upstream, want [%q]", h, v, want)
			}
		}
		for _, h := range []string{"Stripe-Signature", "Stripe-User", "Stripe-User-Id", "Stripe-Account-Id"} {
			if v := r.Header.Values(h); len(v) != 0 {
				t.Errorf("%s reached the upstream: %q", h, v)
			}
		}
	}

	t.Run("signed GET passes with identity", func(t *testing.T) {
		before := len(up.requests())
		resp, b, err := gw.do("GET", "/v1/apis/http/stripe/v1/customers", nil,
			"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user, "Authorization", "Bearer sk_live_forged")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %v err %v body %s", status(resp), err, b)
		}
		checkVerified(t, forwarded(t, before), "/v1/customers")
	})
	t.Run("signed POST body passes byte for byte", func(t *testing.T) {
		before := len(up.requests())
		resp, b, err := gw.do("POST", "/v1/apis/http/stripe/v1/charges", strings.NewReader(body),
			"Stripe-Signature", signNow(body, appSecret), "Content-Type", "application/json")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %v err %v body %s", status(resp), err, b)
		}
		checkVerified(t, forwarded(t, before), "/v1/charges")
	})

	refused := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
	}{
		{"wrong secret", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-Signature", signNow(user, wrongSecret), "Stripe-User", user}, 401, "signature_invalid"},
		{"no signature", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-User", user}, 401, "signature_missing"},
		{"body altered", "POST", "/v1/apis/http/stripe/v1/charges", strings.Replace(body, "1000", "9000", 1), []string{"Stripe-Signature", signNow(body, appSecret), "Content-Type", "application/json"}, 401, "signature_invalid"},
		{"forged Stripe-Account", "GET", "/v1/apis/http/stripe/v1/customers", "", []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user, "Stripe-Account", "acct_other"}, 401, "identity_mismatch"},
		{"body over the StripeApp limit", "POST", "/v1/apis/http/stripe/v1/charges", `{"pad":"` + strings.Repeat("a", 5000) + `"}`, []string{"Stripe-Signature", signNow(`{}`, appSecret), "Content-Type", "application/json"}, 413, "body_too_large"},
		// In the policy's paths, but on a route the EnvoyFilter did not
		// patch: Istio sends no context extension, Atlas cannot tell the
		// adapter, and refuses (fail closed).
		{"route without the adapter name", "GET", "/v1/apis/http/stripe/unpatched/x", "", []string{"Stripe-Signature", signNow(user, appSecret), "Stripe-User", user}, 404, "unknown_adapter"},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			before := len(up.requests())
			resp, b, err := gw.do(c.method, c.path, strings.NewReader(c.body), c.hdr...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, c.status, b)
			}
			if got := resp.Header.Get("X-Atlas-Error-Code"); got != c.code {
				t.Errorf("x-atlas-error-code %q, want %q", got, c.code)
			}
			for _, s := range allSecrets {
				if strings.Contains(b, s) {
					t.Errorf("the refusal reveals a secret: %s", b)
				}
			}
			if n := len(up.requests()) - before; n != 0 {
				t.Errorf("a refused request was forwarded (%d upstream requests)", n)
			}
		})
	}

	t.Run("outside the policy: Atlas is not asked", func(t *testing.T) {
		before := len(up.requests())
		resp, b, err := gw.do("GET", "/v1/apis/http/plain/x", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %v err %v body %s", status(resp), err, b)
		}
		if r := forwarded(t, before); r.Header.Get("Authorization") != "" || r.Header.Get("Atlas-Verified-User-Id") != "" {
			t.Errorf("headers set on a request the policy does not cover: %v", r.Header)
		}
	})

	// Last: with Atlas gone, the provider fails closed with statusOnError.
	t.Run("Atlas unreachable: 503, nothing forwarded", func(t *testing.T) {
		a.stop()
		before := len(up.requests())
		resp, b, err := gw.do("GET", "/v1/apis/http/stripe/v1/customers", nil, "Stripe-Signature", signNow(user, appSecret), "Stripe-User", user)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503; body %s", resp.StatusCode, b)
		}
		if n := len(up.requests()) - before; n != 0 {
			t.Errorf("forwarded %d requests while the verifier was down", n)
		}
	})
}

func status(r *http.Response) any {
	if r == nil {
		return "no response"
	}
	return r.StatusCode
}

// waitListening waits until atlas accepts connections on port: it listens
// only after its configuration loaded.
func waitListening(t *testing.T, a *atlas, port int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("atlas did not listen on %d within 20s\n%s", port, a.logs.String())
}

// shippedAtlasProvider reads the "atlas" extension provider from
// deploy/istio/meshconfig.yaml (Helm values: meshConfig is Istio's MeshConfig).
func shippedAtlasProvider(t *testing.T) *meshconfig.MeshConfig_ExtensionProvider_EnvoyExternalAuthorizationGrpcProvider {
	t.Helper()
	var values struct {
		MeshConfig json.RawMessage `json:"meshConfig"`
	}
	readYAML(t, "../../deploy/istio/meshconfig.yaml", &values)
	var mc meshconfig.MeshConfig
	if err := protojson.Unmarshal(values.MeshConfig, &mc); err != nil {
		t.Fatalf("meshconfig.yaml: %v", err)
	}
	for _, p := range mc.GetExtensionProviders() {
		if p.GetName() == "atlas" && p.GetEnvoyExtAuthzGrpc() != nil {
			return p.GetEnvoyExtAuthzGrpc()
		}
	}
	t.Fatal(`meshconfig.yaml has no envoyExtAuthzGrpc provider "atlas"`)
	return nil
}

// shippedExtAuthzRoutePatch returns, as JSON, the typed_per_filter_config
// that deploy/istio/envoyfilter.yaml merges into the gateway route.
func shippedExtAuthzRoutePatch(t *testing.T) string {
	t.Helper()
	v := shippedPatch(t, networking.EnvoyFilter_HTTP_ROUTE, networking.EnvoyFilter_GATEWAY, func(v *structpb.Struct) bool {
		_, ok := v.GetFields()["typed_per_filter_config"].GetStructValue().GetFields()["envoy.filters.http.ext_authz"]
		return ok
	})
	return toJSON(t, v.GetFields()["typed_per_filter_config"])
}

// shippedPatch returns the value of the one patch in
// deploy/istio/envoyfilter.yaml that applies to applyTo in ctx and for which
// match is true.
func shippedPatch(t *testing.T, applyTo networking.EnvoyFilter_ApplyTo, ctx networking.EnvoyFilter_PatchContext, match func(*structpb.Struct) bool) *structpb.Struct {
	t.Helper()
	data, err := os.ReadFile("../../deploy/istio/envoyfilter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var found []*structpb.Struct
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		var obj struct {
			Spec json.RawMessage `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		var ef networking.EnvoyFilter
		if err := protojson.Unmarshal(obj.Spec, &ef); err != nil {
			t.Fatalf("envoyfilter.yaml: %v", err)
		}
		for _, p := range ef.GetConfigPatches() {
			if p.GetApplyTo() == applyTo && p.GetMatch().GetContext() == ctx && match(p.GetPatch().GetValue()) {
				found = append(found, p.GetPatch().GetValue())
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("envoyfilter.yaml has %d %s patches in %s of the kind this test needs, want 1", len(found), applyTo, ctx)
	}
	return found[0]
}

func toJSON(t *testing.T, m proto.Message) string {
	t.Helper()
	j, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// istioGatewayBootstrap is a static Envoy configuration in the shape istiod
// gives an ingress gateway for routes.yaml + authorizationpolicy.yaml +
// envoyfilter.yaml, with the provider from meshconfig.yaml. Only addresses
// differ: Istio's outbound cluster for the Atlas Service points at atlas's
// --xds-address, and the api.stripe.com cluster at the recording upstream.
func istioGatewayBootstrap(t *testing.T, p *meshconfig.MeshConfig_ExtensionProvider_EnvoyExternalAuthorizationGrpcProvider,
	perRoute string, listen, admin, atlasPort, upstream int) string {
	t.Helper()
	// pilot/pkg/security/authz/builder/extauthz.go: parseService,
	// generateGRPCConfig, withBodyRequest.
	cluster := fmt.Sprintf("outbound|%d||%s", p.GetPort(), p.GetService())
	authority := strings.ReplaceAll(cluster, "|", "_.")
	body := p.GetIncludeRequestBodyInCheck()
	if p.GetTimeout() == nil || p.GetStatusOnError() == "" || body == nil {
		t.Fatal("meshconfig.yaml: the atlas provider must set timeout, statusOnError and includeRequestBodyInCheck")
	}
	timeout, _ := protojson.Marshal(p.GetTimeout())
	return fmt.Sprintf(`
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: %[1]d } }
static_resources:
  listeners:
  - name: gateway
    address: { socket_address: { address: 127.0.0.1, port_value: %[2]d } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_8080
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: KEEP_UNCHANGED
          route_config:
            name: http.8080
            virtual_hosts:
            - name: atlas.example.com:443
              domains: ["*"]
              routes:
              # Not patched by envoyfilter.yaml (another route name), but in
              # the policy's paths.
              - name: other-stripe-route
                match: { prefix: /v1/apis/http/stripe/unpatched/ }
                route: { cluster: "outbound|80||api.stripe.com", prefix_rewrite: / }
              # routes.yaml's atlas-stripe, plus the envoyfilter.yaml patch.
              - name: atlas-stripe
                match: { prefix: /v1/apis/http/stripe/ }
                route: { cluster: "outbound|80||api.stripe.com", prefix_rewrite: / }
                typed_per_filter_config: %[3]s
              - name: plain
                match: { prefix: /v1/apis/http/plain/ }
                route: { cluster: "outbound|80||api.stripe.com", prefix_rewrite: /plain/ }
          http_filters:
          # authorizationpolicy.yaml, rule 0, as a shadow rule: it only marks.
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              shadow_rules_stat_prefix: istio_ext_authz_
              shadow_rules:
                action: DENY
                policies:
                  "istio-ext-authz-atlas-ns[istio-system]-policy[atlas-stripe-app-signature]-rule[0]":
                    permissions:
                    - and_rules:
                        rules:
                        - or_rules: { rules: [ { url_path: { path: { prefix: /v1/apis/http/stripe/ } } } ] }
                        - not_rule: { or_rules: { rules: [ { header: { name: ":method", string_match: { exact: OPTIONS } } } ] } }
                    principals:
                    - and_ids: { ids: [ { any: true } ] }
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              grpc_service:
                envoy_grpc: { cluster_name: %[4]q, authority: %[5]q }
                timeout: %[6]s
              transport_api_version: V3
              failure_mode_allow: %[7]t
              status_on_error: { code: %[8]s }
              with_request_body: { max_request_bytes: %[9]d, allow_partial_message: %[10]t, pack_as_bytes: %[11]t }
              filter_enabled_metadata:
                filter: envoy.filters.http.rbac
                path: [ { key: istio_ext_authz_shadow_effective_policy_id } ]
                value: { string_match: { prefix: istio-ext-authz } }
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: %[4]q
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: %[4]q
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %[12]d } } } } ] } ]
  - name: "outbound|80||api.stripe.com"
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: "outbound|80||api.stripe.com"
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %[13]d } } } } ] } ]
`, admin, listen, perRoute, cluster, authority, timeout, p.GetFailOpen(), p.GetStatusOnError(),
		body.GetMaxRequestBytes(), body.GetAllowPartialMessage(), body.GetPackAsBytes(), atlasPort, upstream)
}

// The ext_proc half of deploy/istio/envoyfilter.yaml, against a real Atlas:
// the HTTP_FILTER patch (ext_proc, disabled at the listener) and the
// HTTP_ROUTE patch (enabled on the adapter's route, with the adapter name in
// gRPC initial metadata) give an outbound request the adapter's credentials,
// leave other routes alone, and fail closed when Atlas is down. The patch
// values go into the Envoy configuration unchanged, as Istio merges them
// into the sidecar's outbound listener and route.
func TestIstioExtProcEnvoyFilter(t *testing.T) {
	filter := toJSON(t, shippedPatch(t, networking.EnvoyFilter_HTTP_FILTER, networking.EnvoyFilter_SIDECAR_OUTBOUND, func(v *structpb.Struct) bool {
		return v.GetFields()["name"].GetStringValue() == "envoy.filters.http.ext_proc"
	}))
	routePatch := shippedPatch(t, networking.EnvoyFilter_HTTP_ROUTE, networking.EnvoyFilter_SIDECAR_OUTBOUND, func(v *structpb.Struct) bool {
		_, ok := v.GetFields()["typed_per_filter_config"].GetStructValue().GetFields()["envoy.filters.http.ext_proc"]
		return ok
	})
	perRoute := toJSON(t, routePatch.GetFields()["typed_per_filter_config"])
	// The adapter the route names: the config below serves it.
	var adapterName string
	m := regexp.MustCompile(`"key":\s*"x-atlas-adapter",\s*"value":\s*"([^"]+)"`).FindStringSubmatch(perRoute)
	if m == nil {
		t.Fatalf("the route patch sets no x-atlas-adapter: %s", perRoute)
	}
	adapterName = m[1]
	cluster := regexp.MustCompile(`"cluster_name":\s*"([^"]+)"`).FindStringSubmatch(filter)
	if cluster == nil {
		t.Fatalf("the ext_proc filter names no cluster: %s", filter)
	}

	up := startRecorder(t)
	xdsPort := freePort(t)
	a := startAtlas(t, atlasConfig(adapter{name: adapterName, baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()),
		headers: [][2]string{{"Authorization", "Bearer " + stripeKey}}}), nil,
		"--envoy", "external", "--xds-address", fmt.Sprintf("127.0.0.1:%d", xdsPort))
	waitListening(t, a, xdsPort)

	listen, admin := freePort(t), freePort(t)
	bs := fmt.Sprintf(`
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: %[1]d } }
static_resources:
  listeners:
  - name: "0.0.0.0_80"
    address: { socket_address: { address: 127.0.0.1, port_value: %[2]d } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_80
          route_config:
            name: "80"
            virtual_hosts:
            - name: "api.stripe.com:80"
              domains: ["*"]
              routes:
              # routes.yaml's atlas-stripe-server, plus the envoyfilter.yaml patch.
              - name: atlas-stripe-server
                match: { prefix: /v1/ }
                route: { cluster: "outbound|80||api.stripe.com" }
                typed_per_filter_config: %[3]s
              - name: other
                match: { prefix: / }
                route: { cluster: "outbound|80||api.stripe.com" }
          http_filters:
          - %[4]s
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: %[5]q
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: %[5]q
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %[6]d } } } } ] } ]
  - name: "outbound|80||api.stripe.com"
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: "outbound|80||api.stripe.com"
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %[7]d } } } } ] } ]
`, admin, listen, perRoute, filter, cluster[1], xdsPort, up.port())
	path := filepath.Join(t.TempDir(), "istio-sidecar.yaml")
	if err := os.WriteFile(path, []byte(bs), 0o600); err != nil {
		t.Fatal(err)
	}
	envoy := exec.Command(envoyBin, "-c", path, "--disable-hot-restart", "--log-level", "warning")
	var logs syncBuffer
	envoy.Stdout, envoy.Stderr = &logs, &logs
	if err := envoy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = envoy.Process.Kill()
		_ = envoy.Wait()
		if t.Failed() {
			t.Logf("envoy logs:\n%s", logs.String())
		}
	})
	app := &atlas{t: t, ingress: listen, logs: &logs}
	app.waitStatus("/health", 200) // the unpatched route: no ext_proc

	t.Run("patched route gets the adapter's key", func(t *testing.T) {
		before := len(up.requests())
		resp, b, err := app.do("GET", "/v1/balance", nil, "Authorization", "Bearer sk_live_forged")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %v err %v body %s", status(resp), err, b)
		}
		got := up.requests()[before:]
		if len(got) != 1 {
			t.Fatalf("upstream saw %d requests", len(got))
		}
		if v := got[0].Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+stripeKey {
			t.Errorf("Authorization = %q at the upstream, want the adapter's key (the client's copy replaced)", v)
		}
	})
	t.Run("other routes: filter stays off", func(t *testing.T) {
		before := len(up.requests())
		if resp, b, err := app.do("GET", "/other", nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %v err %v body %s", status(resp), err, b)
		}
		if v := up.requests()[before].Header.Get("Authorization"); v != "" {
			t.Errorf("Authorization %q on a route without the patch", v)
		}
	})
	t.Run("Atlas unreachable: fails closed", func(t *testing.T) {
		a.stop()
		before := len(up.requests())
		resp, b, err := app.do("GET", "/v1/balance", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503; body %s", resp.StatusCode, b)
		}
		if n := len(up.requests()) - before; n != 0 {
			t.Errorf("forwarded %d requests without credentials", n)
		}
	})
}
