package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	// Envoy types named by "@type" in patch values and bootstraps; imported
	// for their registration in the global proto registry.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshconfig "istio.io/api/mesh/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	k8snetworkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// object is one decoded YAML document.
type object struct {
	File       string // base name
	Index      int    // position of the document in its file, from 0
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Obj        any // a pointer to the typed object
}

func (o object) String() string {
	return fmt.Sprintf("%s (document %d, %s %s/%s)", o.File, o.Index+1, o.Kind, o.Namespace, o.Name)
}

// kustomization is the part of kustomize's Kustomization we use; any other
// field is rejected like an unknown field of a Kubernetes type.
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Resources       []string `json:"resources"`
}

type decoder func(doc []byte) (any, error)

// kinds maps "apiVersion/kind" to its strict decoder. A kind not listed here
// is an error: add it (with its real API type) when a manifest needs it.
var kinds = map[string]decoder{
	"v1/Namespace":                       k8s[corev1.Namespace],
	"v1/ServiceAccount":                  k8s[corev1.ServiceAccount],
	"v1/ConfigMap":                       k8s[corev1.ConfigMap],
	"v1/Secret":                          k8s[corev1.Secret],
	"v1/Service":                         k8s[corev1.Service],
	"apps/v1/Deployment":                 k8s[appsv1.Deployment],
	"networking.k8s.io/v1/NetworkPolicy": k8s[k8snetworkingv1.NetworkPolicy],
	"kustomize.config.k8s.io/v1beta1/Kustomization": k8s[kustomization],

	"networking.istio.io/v1alpha3/EnvoyFilter": istio(func(o *networkingv1alpha3.EnvoyFilter) proto.Message { return &o.Spec }),
	"networking.istio.io/v1/Gateway":           istio(func(o *networkingv1.Gateway) proto.Message { return &o.Spec }),
	"networking.istio.io/v1/VirtualService":    istio(func(o *networkingv1.VirtualService) proto.Message { return &o.Spec }),
	"networking.istio.io/v1/ServiceEntry":      istio(func(o *networkingv1.ServiceEntry) proto.Message { return &o.Spec }),
	"networking.istio.io/v1/DestinationRule":   istio(func(o *networkingv1.DestinationRule) proto.Message { return &o.Spec }),
	"security.istio.io/v1/AuthorizationPolicy": istio(func(o *securityv1.AuthorizationPolicy) proto.Message { return &o.Spec }),
}

// strictJSON decodes doc into v as the Kubernetes API server does in strict
// mode: field names are case-sensitive (encoding/json's are not), and
// unknown or duplicate fields are errors.
func strictJSON(doc []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(doc, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// strictProto decodes JSON into m, rejecting unknown fields and unknown
// "@type"s.
func strictProto(doc []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(doc, m)
}

func k8s[T any](doc []byte) (any, error) {
	v := new(T)
	return v, strictJSON(doc, v)
}

// istio decodes an Istio object: the envelope (apiVersion, kind, metadata)
// strictly into the client-go type, then the spec strictly into its
// istio.io/api proto, because the generated UnmarshalJSON of Istio's specs
// silently accepts unknown fields.
func istio[T any](spec func(*T) proto.Message) decoder {
	return func(doc []byte) (any, error) {
		v := new(T)
		if err := strictJSON(doc, v); err != nil {
			return v, err
		}
		var raw struct {
			Spec json.RawMessage `json:"spec"`
		}
		if err := json.Unmarshal(doc, &raw); err != nil {
			return v, err
		}
		if len(raw.Spec) == 0 {
			return v, errors.New("no spec")
		}
		m := spec(v)
		proto.Reset(m)
		if err := strictProto(raw.Spec, m); err != nil {
			return v, fmt.Errorf("spec: %w", err)
		}
		return v, nil
	}
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeFile decodes every document of one YAML file.
func decodeFile(name string, data []byte) ([]object, []error) {
	var out []object
	var errs []error
	for i, doc := range docSeparator.Split(string(data), -1) {
		j, err := yaml.YAMLToJSONStrict([]byte(doc)) // duplicate keys are errors
		if err != nil {
			errs = append(errs, fmt.Errorf("%s document %d: %w", name, i+1, err))
			continue
		}
		if string(j) == "null" { // only comments
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(j, &head); err != nil {
			errs = append(errs, fmt.Errorf("%s document %d: %w", name, i+1, err))
			continue
		}
		o := object{File: name, Index: i, APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace}
		dec, ok := kinds[head.APIVersion+"/"+head.Kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown kind %q (apiVersion %q); add its API type to test/manifests", o, head.Kind, head.APIVersion))
			continue
		}
		if o.Obj, err = dec(j); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		out = append(out, o)
	}
	return out, errs
}

// decodeFiles decodes every file; the order of files is by name.
func decodeFiles(files map[string][]byte) ([]object, []error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []object
	var errs []error
	for _, n := range names {
		objs, es := decodeFile(n, files[n])
		out = append(out, objs...)
		errs = append(errs, es...)
	}
	return out, errs
}

// readDir returns the YAML files of dir by base name, except skip.
func readDir(dir string, skip ...string) (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, p := range paths {
		base := filepath.Base(p)
		if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
			continue
		}
		if contains(skip, base) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files[base] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	return files, nil
}

// meshValues is the Helm values file holding istiod's meshConfig.
type meshValues struct {
	MeshConfig json.RawMessage `json:"meshConfig"`
}

// decodeMeshConfig decodes deploy/istio/meshconfig.yaml: only the key
// meshConfig, whose value is decoded strictly into Istio's MeshConfig.
func decodeMeshConfig(data []byte) (*meshconfig.MeshConfig, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var v meshValues
	if err := strictJSON(j, &v); err != nil {
		return nil, err
	}
	if len(v.MeshConfig) == 0 {
		return nil, errors.New("no meshConfig key")
	}
	mc := &meshconfig.MeshConfig{}
	if err := strictProto(v.MeshConfig, mc); err != nil {
		return nil, fmt.Errorf("meshConfig: %w", err)
	}
	return mc, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// find returns the objects of type T (a pointer type) in objs.
func find[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
