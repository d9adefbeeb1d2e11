package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// An adapter applied through the admin API is never served without the
// header it injects, and never answers an error while it arrives: the first
// request that reaches the upstream carries the credential, and until then
// the only answer is 404 (no route yet). With static injection a new
// adapter adds a cluster whose upstream credential_injector reads an SDS
// secret, and a route to that cluster; a route active before its cluster
// would answer 503, and a cluster without its secret 401, so the routes go
// out only once every Envoy holds both (internal/rollout). Requests are
// sent back to back to catch a short window.
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
				if others := untilOK(t, a, "/v1/apis/http/"+name+"/first"); len(others) > 0 {
					misses = append(misses, fmt.Sprintf("%s: answered %v before 200 (only 404 is expected while it arrives)", name, others))
				}
				reqs := up.requests()
				if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != want {
					listeners := a.envoyAdminGet("/config_dump?resource=dynamic_listeners")
					misses = append(misses, fmt.Sprintf("%s (%s): upstream got Authorization %q; a listener was still warming: %v",
						name, value, got, strings.Contains(listeners, "warming_state")))
				}
			}
			if len(misses) > 0 {
				t.Errorf("%d problems while 8 adapters were added:\n  %s", len(misses), strings.Join(misses, "\n  "))
			}
		})
	}
}

// untilOK sends GET path until it answers 200 and returns the statuses
// other than 404 it got before.
func untilOK(t *testing.T, a *atlas, path string) []int {
	t.Helper()
	var others []int
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, _, err := a.do("GET", path, nil)
		switch {
		case err != nil:
			t.Fatalf("GET %s: %v", path, err)
		case resp.StatusCode == 200:
			return others
		case resp.StatusCode != 404:
			others = append(others, resp.StatusCode)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("GET %s never answered 200 within 20s", path)
	return nil
}
