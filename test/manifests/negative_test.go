package manifests

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// validate runs every check of this package on in-memory copies of
// deploy/kubernetes, deploy/istio and the mesh config, returning all
// problems.
func validate(k8sFiles, istioFiles map[string][]byte, mesh []byte) []error {
	k8sObjs, errs := decodeFiles(k8sFiles)
	errs = append(errs, checkKubernetes(k8sObjs)...)
	errs = append(errs, checkKustomization(k8sFiles, k8sObjs)...)
	cfg, err := atlasConfig(k8sObjs)
	if err != nil {
		return append(errs, fmt.Errorf("atlas config: %w", err))
	}
	s := istioSet{files: istioFiles, k8s: k8sObjs, cfg: cfg}
	var ierrs []error
	s.objs, ierrs = decodeFiles(istioFiles)
	errs = append(errs, ierrs...)
	errs = append(errs, checkKustomization(istioFiles, s.objs)...)
	if s.mesh, err = decodeMeshConfig(mesh); err != nil {
		return append(errs, fmt.Errorf("%s: %w", meshConfigFile, err))
	}
	errs = append(errs, checkMeshConfig(s)...)
	return append(errs, checkIstio(s)...)
}

func shipped(t *testing.T) (k8sFiles, istioFiles map[string][]byte, mesh []byte) {
	t.Helper()
	var err error
	if k8sFiles, err = readDir(kubernetesDir); err != nil {
		t.Fatal(err)
	}
	if istioFiles, err = readDir(istioDir, meshConfigFile); err != nil {
		t.Fatal(err)
	}
	if mesh, err = os.ReadFile(istioDir + "/" + meshConfigFile); err != nil {
		t.Fatal(err)
	}
	return k8sFiles, istioFiles, mesh
}

// The shipped files pass validate as a whole (the control for the cases below).
func TestValidateShippedFiles(t *testing.T) {
	for _, err := range validate(shipped(t)) {
		t.Error(err)
	}
}

// Each case breaks one shipped file in one place, the way a typo would, and
// validate must report it.
func TestValidateRejectsTypos(t *testing.T) {
	cases := []struct {
		name, dir, file, old, new string
		want                      string // in one of the errors
	}{
		// Kubernetes: strict decoding.
		{"unknown container field", "k8s", "atlas.yaml", "readinessProbe:", "readynessProbe:", `unknown field "spec.template.spec.containers[0].readynessProbe"`},
		{"unknown metadata field", "k8s", "namespace.yaml", "  labels:", "  lables:", `unknown field "metadata.lables"`},
		{"field name case", "k8s", "atlas-config.yaml", "stringData:", "stringdata:", `unknown field "stringdata"`},
		{"duplicate key", "k8s", "atlas.yaml", "  replicas: 1\n", "  replicas: 1\n  replicas: 2\n", "replicas"},
		{"wrong value type", "k8s", "atlas.yaml", "replicas: 1", "replicas: one", "replicas"},
		{"unknown kind", "k8s", "atlas.yaml", "kind: NetworkPolicy", "kind: NetworkPolicies", `unknown kind "NetworkPolicies"`},
		{"unknown apiVersion", "k8s", "namespace.yaml", "apiVersion: v1", "apiVersion: v2", `unknown kind "Namespace" (apiVersion "v2")`},
		{"unknown kustomization field", "k8s", "kustomization.yaml", "resources:", "resource:", `unknown field "resource"`},
		// Kubernetes: cross-references.
		{"missing ConfigMap", "k8s", "atlas.yaml", "name: atlas-config", "name: atlas-configs", `ConfigMap "atlas-configs" does not exist`},
		{"missing Secret key", "k8s", "atlas.yaml", "key: STRIPE_APP_SECRET", "key: STRIPE_APP_SECRETS", `key "STRIPE_APP_SECRETS" does not exist`},
		{"Service selects nothing", "k8s", "atlas.yaml", "    app.kubernetes.io/component: control-plane\n  ports:", "    app.kubernetes.io/component: controlplane\n  ports:", "matches no Deployment's pods"},
		{"unmounted volume", "k8s", "example-app.yaml", "- name: envoy-bootstrap\n          mountPath", "- name: envoy-bootstrp\n          mountPath", `mounts volume "envoy-bootstrp"`},
		{"unlisted resource", "k8s", "kustomization.yaml", "- example-app.yaml\n", "", "does not list example-app.yaml"},
		{"config needs an unset variable", "k8s", "atlas-config.yaml", "${{ STRIPE_APP_SECRET }}", "${{ STRIPE_APP_SECRET_NEXT }}", "STRIPE_APP_SECRET_NEXT"},
		// Istio: strict decoding of the client-go envelope and the spec.
		{"unknown AuthorizationPolicy field", "istio", "authorizationpolicy.yaml", "action: CUSTOM", "actoin: CUSTOM", "actoin"},
		{"unknown enum value", "istio", "authorizationpolicy.yaml", "action: CUSTOM", "action: CUSTOMS", "CUSTOMS"},
		{"unknown EnvoyFilter field", "istio", "envoyfilter.yaml", "  workloadSelector:", "  workloadselector:", "workloadselector"},
		{"unknown Istio metadata field", "istio", "envoyfilter.yaml", "  namespace: istio-system", "  namespce: istio-system", `unknown field "metadata.namespce"`},
		{"unknown Envoy field in a patch", "istio", "envoyfilter.yaml", "failure_mode_allow: false", "failure_mode_alow: false", "failure_mode_alow"},
		{"unknown Envoy type in a patch", "istio", "envoyfilter.yaml", "ext_authz.v3.ExtAuthzPerRoute", "ext_authz.v3.ExtAuthzPerRout", "ExtAuthzPerRout"},
		{"unknown VirtualService field", "istio", "routes.yaml", "corsPolicy:", "corsPolicies:", "corsPolicies"},
		{"unknown Istio kind", "istio", "routes.yaml", "kind: Gateway", "kind: Gatway", `unknown kind "Gatway"`},
		{"unknown mesh config field", "mesh", meshConfigFile, "failOpen: false", "failOpn: false", "failOpn"},
		{"unknown values key", "mesh", meshConfigFile, "meshConfig:", "meshconfig:", `unknown field "meshconfig"`},
		// Istio: cross-references and the values Atlas needs.
		{"fail open", "mesh", meshConfigFile, "failOpen: false", "failOpen: true", "failOpen must be false"},
		{"partial body", "mesh", meshConfigFile, "allowPartialMessage: false", "allowPartialMessage: true", "allowPartialMessage: false"},
		{"wrong service", "mesh", meshConfigFile, "service: atlas.atlas-system", "service: atlas.default", "want the atlas Service"},
		{"unregistered provider", "istio", "authorizationpolicy.yaml", "name: atlas\n", "name: atlass\n", `provider "atlass" is not an extensionProviders entry`},
		{"policy path for no adapter", "istio", "authorizationpolicy.yaml", "/v1/apis/http/stripe/*", "/v1/apis/http/stripe-server/*", "want one per adapter with spec.stripeApp"},
		{"ext_authz for an unsigned adapter", "istio", "envoyfilter.yaml", "adapter: stripe\n", "adapter: stripe-server\n", `names adapter "stripe-server", which has no spec.stripeApp`},
		{"route name", "istio", "envoyfilter.yaml", "name: atlas-stripe\n", "name: atlas-stripe-app\n", `route "atlas-stripe-app" is no VirtualService http route's name`},
		{"ext_proc for an unknown adapter", "istio", "envoyfilter.yaml", "value: stripe-server", "value: stripe-sever", `adapter "stripe-sever", which is not an adapter without spec.stripeApp`},
		{"ext_proc enabled everywhere", "istio", "envoyfilter.yaml", "disabled: true", "disabled: false", "must be disabled at the listener"},
		{"ext_proc to another cluster", "istio", "envoyfilter.yaml", "cluster_name: outbound|18000||", "cluster_name: outbound|18001||", "want Istio's cluster for the atlas Service"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k8sFiles, istioFiles, mesh := shipped(t)
			mutate := func(data []byte) []byte {
				s := string(data)
				if !strings.Contains(s, c.old) {
					t.Fatalf("%s does not contain %q; update this case", c.file, c.old)
				}
				return []byte(strings.Replace(s, c.old, c.new, 1))
			}
			switch c.dir {
			case "k8s":
				k8sFiles[c.file] = mutate(k8sFiles[c.file])
			case "istio":
				istioFiles[c.file] = mutate(istioFiles[c.file])
			case "mesh":
				mesh = mutate(mesh)
			}
			errs := validate(k8sFiles, istioFiles, mesh)
			var msgs []string
			for _, err := range errs {
				if strings.Contains(err.Error(), c.want) {
					return
				}
				msgs = append(msgs, err.Error())
			}
			t.Fatalf("no error mentions %q; got %d:\n%s", c.want, len(errs), strings.Join(msgs, "\n"))
		})
	}
}
