// Package manifests validates the deployment files Atlas ships, offline: every
// YAML document in deploy/kubernetes is decoded strictly (unknown fields and
// duplicate keys rejected) into its k8s.io/api type, every document in
// deploy/istio into its istio.io/client-go type with the spec decoded
// strictly into istio.io/api's protos (Istio's own JSON decoding accepts
// unknown fields), EnvoyFilter patch values into Envoy's protos, and the
// mesh config into istio.io/api's MeshConfig. An unknown kind is an error.
// Cross-references are then checked: volumes, env and service accounts name
// objects that exist, Services select the pods they mean, the Atlas config
// in the ConfigMap parses with the Secret's values, the sidecar bootstrap
// matches envoy/sidecar-bootstrap.yaml, and the Istio files agree with the
// Atlas config and the Kubernetes Service.
package manifests
