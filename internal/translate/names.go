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

// injectorFilterName names the credential_injector filter for one header.
func injectorFilterName(adapter string, header string) string {
	return "atlas.credential_injector." + adapter + "." + strings.ToLower(header)
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
