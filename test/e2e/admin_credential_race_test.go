package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// An adapter applied through the admin API is never served without the
// header it injects: the first request that reaches the upstream carries
// the credential. With static injection a new adapter adds a
// credential_injector filter to the listener (LDS, warming on its SDS
// secret) and a route enabling it (RDS); if the route is active before that
// listener, Envoy forwards the request without the credential.
func TestAdminNewAdapterNeverServedWithoutCredential(t *testing.T) {
	for _, mode := range injectionModes {
		t.Run(mode, func(t *testing.T) {
			up := startRecorder(t)
			url := fmt.Sprintf("http://127.0.0.1:%d", up.port())
			token := randomHex(t, 16)
			a := startAtlas(t, atlasConfig(adapter{name: "filed", baseURL: url, headers: [][2]string{{"X-Filed", "yes"}}}),
				map[string]string{"ATLAS_ADMIN_TOKEN": token}, "--injection", mode)
			a.waitStatus("/v1/apis/http/filed/ready", 200)
			mustMom(t, token, "stored-value", "secrets", "set", "K", "--admin", a.adminAddr())
			var misses []string
			for i := range 8 {
				name := fmt.Sprintf("new%d", i)
				value, want := "Bearer literal-"+name, "Bearer literal-"+name
				if i%2 == 0 {
					value, want = "Bearer ${{ secret:K }}", "Bearer stored-value"
				}
				doc := writeTemp(t, name+".yml", httpDoc(name, url, [2]string{"Authorization", value}))
				mustMom(t, token, "", "adapters", "apply", "-f", doc, "--admin", a.adminAddr())
				a.waitStatus("/v1/apis/http/"+name+"/first", 200)
				reqs := up.requests()
				if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != want {
					listeners := a.envoyAdminGet("/config_dump?resource=dynamic_listeners")
					misses = append(misses, fmt.Sprintf("%s (%s): upstream got Authorization %q; a listener was still warming: %v",
						name, value, got, strings.Contains(listeners, "warming_state")))
				}
			}
			if len(misses) > 0 {
				t.Errorf("%d of 8 new adapters were first served WITHOUT their credential:\n  %s", len(misses), strings.Join(misses, "\n  "))
			}
		})
	}
}
