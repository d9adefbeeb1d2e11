package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/atlas-gateway/atlas/internal/model"
)

// secretName names the SDS secret holding header i of an adapter. Adapter
// names are single path segments, so "/" cannot collide.
func secretName(adapter string, header string) string {
	return "atlas/" + adapter + "/" + strings.ToLower(header)
}

// injectorFilterName names the credential_injector upstream filter for one
// header; it is unique within its adapter's cluster.
func injectorFilterName(header string) string {
	return "atlas.credential_injector." + strings.ToLower(header)
}

// adapterClusterName names the cluster of an adapter whose credentials Envoy
// injects (static mode): the credentials belong to the adapter, so its
// upstream filters, and so its cluster, are its own.
func adapterClusterName(adapter string) string {
	return "atlas_adapter_" + adapter
}

// clusterName names the cluster for an upstream. Adapters that share scheme,
// host, port and trust settings share a cluster (and its connection pool).
func clusterName(u model.Upstream) string {
	name := fmt.Sprintf("atlas_%s_%s_%d", u.Scheme, u.Host, u.Port)
	if len(u.CAPEM) > 0 {
		sum := sha256.Sum256(u.CAPEM)
		name += "_ca" + hex.EncodeToString(sum[:4])
	}
	return name
}
