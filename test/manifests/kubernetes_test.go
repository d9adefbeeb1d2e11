package manifests

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	k8snetworkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/atlas-gateway/atlas/envoy"
	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/model"
	"github.com/atlas-gateway/atlas/internal/verify"
)

const (
	kubernetesDir    = "../../deploy/kubernetes"
	sidecarBootstrap = "../../envoy/sidecar-bootstrap.yaml"
	// atlasContainer is the control plane's container in the Deployment
	// named atlasDeployment.
	atlasDeployment = "atlas"
	atlasContainer  = "atlas"
	envoyContainer  = "envoy"
)

// loadKubernetes decodes deploy/kubernetes, failing the test on any error.
func loadKubernetes(t *testing.T) (map[string][]byte, []object) {
	t.Helper()
	files, err := readDir(kubernetesDir)
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := decodeFiles(files)
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return files, objs
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	_, objs := loadKubernetes(t)
	want := map[string]int{"Namespace": 2, "ServiceAccount": 2, "ConfigMap": 2, "Secret": 1, "Deployment": 2, "Service": 1, "NetworkPolicy": 1, "Kustomization": 1}
	got := map[string]int{}
	for _, o := range objs {
		got[o.Kind]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d %s documents, want %d", got[k], k, n)
		}
	}
}

func TestKubernetesCrossReferences(t *testing.T) {
	files, objs := loadKubernetes(t)
	for _, err := range checkKubernetes(objs) {
		t.Error(err)
	}
	for _, err := range checkKustomization(files, objs) {
		t.Error(err)
	}
}

// The ConfigMap's Atlas configuration parses and validates with exactly the
// environment the Deployment gives the container (the Secret's values).
func TestAtlasConfigParsesWithDeploymentEnv(t *testing.T) {
	_, objs := loadKubernetes(t)
	cfg, err := atlasConfig(objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Adapters) == 0 {
		t.Fatal("the Atlas config has no adapters")
	}
	if _, err := verify.New(cfg); err != nil {
		t.Fatalf("signature verification cannot start with this config: %v", err)
	}
}

// The sidecar bootstrap is the template's rendering for the in-cluster
// Service (so it cannot drift from what `atlas bootstrap` writes), it
// decodes strictly as an Envoy Bootstrap, points at the Atlas Service, and
// the ConfigMap carries it byte for byte.
func TestSidecarBootstrap(t *testing.T) {
	file, err := os.ReadFile(sidecarBootstrap)
	if err != nil {
		t.Fatal(err)
	}
	_, objs := loadKubernetes(t)
	svc := service(objs, atlasDeployment)
	if svc == nil {
		t.Fatal("no Service named atlas")
	}
	host := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
	b := envoy.Defaults()
	b.XDSAddress = net.JoinHostPort(host, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
	want, err := envoy.Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if stripComments(string(file)) != stripComments(string(want)) {
		t.Errorf("envoy/sidecar-bootstrap.yaml differs from `atlas bootstrap --xds-address %s` (comments aside); regenerate it", b.XDSAddress)
	}

	j, err := yaml.YAMLToJSONStrict(file)
	if err != nil {
		t.Fatal(err)
	}
	var bs bootstrapv3.Bootstrap
	if err := strictProto(j, &bs); err != nil {
		t.Fatalf("not a valid Envoy bootstrap: %v", err)
	}
	if a := bs.GetAdmin().GetAddress().GetSocketAddress().GetAddress(); a != "127.0.0.1" {
		t.Errorf("admin listens on %q, want 127.0.0.1", a)
	}
	var found bool
	for _, c := range bs.GetStaticResources().GetClusters() {
		for _, e := range c.GetLoadAssignment().GetEndpoints() {
			for _, lb := range e.GetLbEndpoints() {
				sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
				if sa.GetAddress() == host && sa.GetPortValue() == uint32(svc.Spec.Ports[0].Port) {
					found = true
					if c.GetType().String() != "STRICT_DNS" {
						t.Errorf("cluster %s is %s, want STRICT_DNS for a DNS name", c.GetName(), c.GetType())
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("no cluster of the sidecar bootstrap points at %s:%d", host, svc.Spec.Ports[0].Port)
	}

	// The ConfigMap mounted at the Envoy container's -c path holds the file.
	d := deployment(objs, "example-app")
	if d == nil {
		t.Fatal("no Deployment example-app")
	}
	c := container(&d.Spec.Template.Spec, envoyContainer)
	if c == nil {
		t.Fatal("example-app has no envoy container")
	}
	got, err := mountedFile(objs, d, c, argAfter(c.Args, "-c"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(file) {
		t.Error("the sidecar bootstrap ConfigMap differs from envoy/sidecar-bootstrap.yaml; copy the file into it")
	}
	// The node id is the pod name, from the downward API.
	if argAfter(c.Args, "--service-node") != "$(POD_NAME)" {
		t.Errorf("--service-node is %q, want $(POD_NAME)", argAfter(c.Args, "--service-node"))
	}
	var podName bool
	for _, e := range c.Env {
		if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			podName = true
		}
	}
	if !podName {
		t.Error("POD_NAME is not the pod's metadata.name (downward API)")
	}
	if argAfter(c.Args, "--service-cluster") == "" {
		t.Error("no --service-cluster")
	}
}

// The Atlas container runs as the docs say: external Envoys, xDS on all
// interfaces, the admin API on loopback, a writable data dir on a volume,
// read-only root, non-root, probes on the gRPC port.
func TestAtlasDeploymentShape(t *testing.T) {
	_, objs := loadKubernetes(t)
	d := deployment(objs, atlasDeployment)
	if d == nil {
		t.Fatal("no atlas Deployment")
	}
	ps := &d.Spec.Template.Spec
	c := container(ps, atlasContainer)
	if c == nil {
		t.Fatal("no atlas container")
	}
	for flag, want := range map[string]string{"--envoy": "external", "--xds-address": "0.0.0.0:18000", "--admin-address": "127.0.0.1:9000", "--data-dir": "/var/lib/atlas"} {
		if got := argAfter(c.Args, flag); got != want {
			t.Errorf("%s = %q, want %q", flag, got, want)
		}
	}
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Errorf("args %q do not start with run", c.Args)
	}
	if !mounted(c, argAfter(c.Args, "--data-dir")) {
		t.Error("--data-dir is not on a volume (the root filesystem is read-only)")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("atlas container must have readOnlyRootFilesystem and no privilege escalation")
	}
	if p := ps.SecurityContext; p == nil || p.RunAsNonRoot == nil || !*p.RunAsNonRoot {
		t.Error("atlas pod must run as non-root")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("atlas container needs cpu/memory requests and a memory limit")
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.TCPSocket == nil || !portIs(c, p.TCPSocket.Port, 18000) {
			t.Errorf("%s probe must be a tcpSocket probe on 18000", name)
		}
	}
}

// checkKubernetes returns every broken reference between the objects.
func checkKubernetes(objs []object) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	namespaces := map[string]bool{}
	for _, ns := range find[*corev1.Namespace](objs) {
		namespaces[ns.Name] = true
	}
	for _, o := range objs {
		switch o.Kind {
		case "Namespace", "Kustomization":
			continue
		}
		if o.Name == "" {
			fail("%s: no metadata.name", o)
		}
		if !namespaces[o.Namespace] {
			fail("%s: namespace %q is not one of the Namespaces in deploy/kubernetes", o, o.Namespace)
		}
	}
	for _, d := range find[*appsv1.Deployment](objs) {
		where := "Deployment " + d.Namespace + "/" + d.Name
		tpl := d.Spec.Template
		if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 || !subset(d.Spec.Selector.MatchLabels, tpl.Labels) {
			fail("%s: spec.selector does not match the pod template's labels", where)
		}
		ps := &tpl.Spec
		if sa := ps.ServiceAccountName; sa != "" && named[*corev1.ServiceAccount](objs, d.Namespace, sa) == nil {
			fail("%s: serviceAccountName %q does not exist in %s", where, sa, d.Namespace)
		}
		volumes := map[string]bool{}
		for _, v := range ps.Volumes {
			volumes[v.Name] = true
			switch {
			case v.ConfigMap != nil:
				cm := named[*corev1.ConfigMap](objs, d.Namespace, v.ConfigMap.Name)
				if cm == nil {
					fail("%s: volume %s: ConfigMap %q does not exist in %s", where, v.Name, v.ConfigMap.Name, d.Namespace)
					continue
				}
				for _, it := range v.ConfigMap.Items {
					if _, ok := cm.Data[it.Key]; !ok {
						fail("%s: volume %s: ConfigMap %s has no key %q", where, v.Name, cm.Name, it.Key)
					}
				}
			case v.Secret != nil:
				s := named[*corev1.Secret](objs, d.Namespace, v.Secret.SecretName)
				if s == nil {
					fail("%s: volume %s: Secret %q does not exist in %s", where, v.Name, v.Secret.SecretName, d.Namespace)
					continue
				}
				for _, it := range v.Secret.Items {
					if !secretHas(s, it.Key) {
						fail("%s: volume %s: Secret %s has no key %q", where, v.Name, s.Name, it.Key)
					}
				}
			case v.EmptyDir != nil, v.PersistentVolumeClaim != nil:
			default:
				fail("%s: volume %s: unexpected volume source", where, v.Name)
			}
		}
		for _, c := range allContainers(ps) {
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					fail("%s: container %s mounts volume %q, which the pod does not declare", where, c.Name, m.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					if s := named[*corev1.Secret](objs, d.Namespace, r.Name); s == nil || !secretHas(s, r.Key) {
						fail("%s: container %s env %s: Secret %s/%s key %q does not exist", where, c.Name, e.Name, d.Namespace, r.Name, r.Key)
					}
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					if cm := named[*corev1.ConfigMap](objs, d.Namespace, r.Name); cm == nil || cm.Data[r.Key] == "" {
						fail("%s: container %s env %s: ConfigMap %s/%s key %q does not exist", where, c.Name, e.Name, d.Namespace, r.Name, r.Key)
					}
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil && named[*corev1.Secret](objs, d.Namespace, ef.SecretRef.Name) == nil {
					fail("%s: container %s envFrom: Secret %q does not exist", where, c.Name, ef.SecretRef.Name)
				}
				if ef.ConfigMapRef != nil && named[*corev1.ConfigMap](objs, d.Namespace, ef.ConfigMapRef.Name) == nil {
					fail("%s: container %s envFrom: ConfigMap %q does not exist", where, c.Name, ef.ConfigMapRef.Name)
				}
			}
		}
	}
	for _, s := range find[*corev1.Service](objs) {
		where := "Service " + s.Namespace + "/" + s.Name
		if len(s.Spec.Selector) == 0 {
			fail("%s: no selector", where)
			continue
		}
		pods := selected(objs, s.Namespace, s.Spec.Selector)
		if len(pods) == 0 {
			fail("%s: selector %v matches no Deployment's pods in %s", where, s.Spec.Selector, s.Namespace)
		}
		for _, d := range pods {
			for _, p := range s.Spec.Ports {
				if !podHasPort(&d.Spec.Template.Spec, p.TargetPort, p.Port) {
					fail("%s: port %s targets %s, which Deployment %s does not expose", where, p.Name, p.TargetPort.String(), d.Name)
				}
			}
		}
	}
	for _, np := range find[*k8snetworkingv1.NetworkPolicy](objs) {
		where := "NetworkPolicy " + np.Namespace + "/" + np.Name
		pods := selected(objs, np.Namespace, np.Spec.PodSelector.MatchLabels)
		if len(pods) == 0 {
			fail("%s: podSelector matches no Deployment's pods", where)
		}
		for _, in := range np.Spec.Ingress {
			for _, peer := range in.From {
				if peer.PodSelector == nil {
					continue
				}
				if len(selected(objs, "", peer.PodSelector.MatchLabels)) == 0 {
					fail("%s: no Deployment's pods carry %v, so nothing may connect", where, peer.PodSelector.MatchLabels)
				}
			}
			for _, p := range in.Ports {
				for _, d := range pods {
					if p.Port != nil && !podHasPort(&d.Spec.Template.Spec, *p.Port, 0) {
						fail("%s: port %s is not a port of Deployment %s", where, p.Port.String(), d.Name)
					}
				}
			}
		}
	}
	return errs
}

// checkKustomization: kustomization.yaml lists exactly the other YAML files.
func checkKustomization(files map[string][]byte, objs []object, notResources ...string) []error {
	ks := find[*kustomization](objs)
	if len(ks) != 1 {
		return []error{fmt.Errorf("%d kustomization.yaml documents, want 1", len(ks))}
	}
	var errs []error
	for _, r := range ks[0].Resources {
		if _, ok := files[r]; !ok {
			errs = append(errs, fmt.Errorf("kustomization.yaml lists %q, which does not exist", r))
		}
	}
	for name := range files {
		if name != "kustomization.yaml" && !contains(notResources, name) && !contains(ks[0].Resources, name) {
			errs = append(errs, fmt.Errorf("kustomization.yaml does not list %s", name))
		}
	}
	return errs
}

// atlasConfig parses the Atlas configuration the atlas container reads (its
// -f path, resolved through its volume mounts to a ConfigMap key) with the
// environment the container gets (env values and Secret keys; nothing else).
func atlasConfig(objs []object) (*model.Config, error) {
	d := deployment(objs, atlasDeployment)
	if d == nil {
		return nil, errors.New("no atlas Deployment")
	}
	c := container(&d.Spec.Template.Spec, atlasContainer)
	if c == nil {
		return nil, errors.New("no atlas container")
	}
	file := argAfter(c.Args, "-f")
	data, err := mountedFile(objs, d, c, file)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			if s := named[*corev1.Secret](objs, d.Namespace, e.ValueFrom.SecretKeyRef.Name); s != nil {
				if v, ok := s.StringData[e.ValueFrom.SecretKeyRef.Key]; ok {
					env[e.Name] = v
				} else if v, ok := s.Data[e.ValueFrom.SecretKeyRef.Key]; ok {
					env[e.Name] = string(v)
				}
			}
		}
	}
	return config.Parse(file, []byte(data), config.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile:  func(p string) ([]byte, error) { return nil, fmt.Errorf("%s: only the ConfigMap is in the pod", p) },
	})
}

// mountedFile returns the content of file as container c of d sees it: the
// ConfigMap key behind the volume mounted at file's directory.
func mountedFile(objs []object, d *appsv1.Deployment, c *corev1.Container, file string) (string, error) {
	if file == "" {
		return "", fmt.Errorf("container %s: no file argument", c.Name)
	}
	dir, base := path.Split(file)
	for _, m := range c.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/") != strings.TrimSuffix(dir, "/") {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := named[*corev1.ConfigMap](objs, d.Namespace, v.ConfigMap.Name)
			if cm == nil {
				return "", fmt.Errorf("%s: ConfigMap %s does not exist", file, v.ConfigMap.Name)
			}
			key := base
			if len(v.ConfigMap.Items) > 0 {
				key = ""
				for _, it := range v.ConfigMap.Items {
					if it.Path == base {
						key = it.Key
					}
				}
			}
			data, ok := cm.Data[key]
			if !ok {
				return "", fmt.Errorf("%s: ConfigMap %s has no key for %s", file, cm.Name, base)
			}
			return data, nil
		}
	}
	return "", fmt.Errorf("container %s: no ConfigMap volume is mounted at %s", c.Name, dir)
}

func named[T interface {
	*corev1.ConfigMap | *corev1.Secret | *corev1.ServiceAccount
}](objs []object, namespace, name string) T {
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok && o.Namespace == namespace && o.Name == name {
			return v
		}
	}
	return nil
}

func deployment(objs []object, name string) *appsv1.Deployment {
	for _, d := range find[*appsv1.Deployment](objs) {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func service(objs []object, name string) *corev1.Service {
	for _, s := range find[*corev1.Service](objs) {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// selected returns the Deployments whose pods carry all of labels (in
// namespace, or anywhere if namespace is "").
func selected(objs []object, namespace string, labels map[string]string) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, d := range find[*appsv1.Deployment](objs) {
		if (namespace == "" || d.Namespace == namespace) && len(labels) > 0 && subset(labels, d.Spec.Template.Labels) {
			out = append(out, d)
		}
	}
	return out
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func allContainers(ps *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range ps.InitContainers {
		out = append(out, &ps.InitContainers[i])
	}
	for i := range ps.Containers {
		out = append(out, &ps.Containers[i])
	}
	return out
}

func container(ps *corev1.PodSpec, name string) *corev1.Container {
	for _, c := range allContainers(ps) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// podHasPort: target (a port name or number; unset means servicePort) is
// a container port of the pod.
func podHasPort(ps *corev1.PodSpec, target intstr.IntOrString, servicePort int32) bool {
	if target.Type == intstr.Int && target.IntVal == 0 {
		target = intstr.FromInt32(servicePort)
	}
	for _, c := range allContainers(ps) {
		if _, ok := resolvePort(c, target); ok {
			return true
		}
	}
	return false
}

// resolvePort returns the number of c's port that target names (by name or
// number).
func resolvePort(c *corev1.Container, target intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if (target.Type == intstr.String && p.Name == target.StrVal) || (target.Type == intstr.Int && p.ContainerPort == target.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// portIs: target is c's port number.
func portIs(c *corev1.Container, target intstr.IntOrString, number int32) bool {
	n, ok := resolvePort(c, target)
	return ok && n == number
}

func mounted(c *corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/") == strings.TrimSuffix(dir, "/") && !m.ReadOnly {
			return true
		}
	}
	return false
}

func secretHas(s *corev1.Secret, key string) bool {
	if _, ok := s.StringData[key]; ok {
		return true
	}
	_, ok := s.Data[key]
	return ok
}

func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// stripComments drops whole-line comments and blank lines.
func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
