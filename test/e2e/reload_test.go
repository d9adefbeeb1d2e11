package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// (c) an adapter added to the file becomes routable without restarting
// Envoy; (d) an invalid edit is reported and the old config keeps serving.
func TestHotReload(t *testing.T) {
	up := startRecorder(t)
	one := adapter{name: "one", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()), headers: [][2]string{{"Authorization", "Bearer ${{ KEY_ONE }}"}}}
	two := adapter{name: "two", baseURL: fmt.Sprintf("http://127.0.0.1:%d/two", up.port()), headers: [][2]string{{"X-Api-Key", "${{ KEY_TWO }}"}}}
	for _, mode := range injectionModes {
		t.Run(mode, func(t *testing.T) {
			a := startAtlas(t, atlasConfig(one), map[string]string{"KEY_ONE": "key-one-e2e", "KEY_TWO": "key-two-e2e"}, "--injection", mode)
			a.waitStatus("/v1/apis/http/one/x", 200)
			a.waitStatus("/v1/apis/http/two/x", 404)
			upBefore := envoyUptime(t, a)

			// (c) add an adapter.
			a.writeConfig(atlasConfig(one, two))
			a.waitStatus("/v1/apis/http/two/x", 200)
			last := up.requests()[len(up.requests())-1]
			if last.Path != "/two/x" || last.Header.Get("X-Api-Key") != "key-two-e2e" {
				t.Fatalf("new adapter reached upstream as %s with X-Api-Key %q", last.Path, last.Header.Get("X-Api-Key"))
			}
			// Uptime only grows; a restarted Envoy starts again from 0.
			if up := envoyUptime(t, a); up < upBefore {
				t.Fatalf("Envoy restarted during reload (uptime %v → %v)", upBefore, up)
			}

			// (d) invalid edits: broken YAML, then an unset variable.
			for i, bad := range []string{
				atlasConfig(one, two) + "---\nkind: HTTP\n  metadata: [broken\n",
				strings.Replace(atlasConfig(one, two), "${{ KEY_TWO }}", "${{ KEY_NOT_SET_E2E }}", 1),
			} {
				a.writeConfig(bad)
				waitLog(t, a, "the edited configuration is invalid", i+1)
				for _, p := range []string{"/v1/apis/http/one/x", "/v1/apis/http/two/x"} {
					if resp, body, err := a.do("GET", p, nil); err != nil || resp.StatusCode != 200 {
						t.Fatalf("after invalid edit %d, %s: %v %v %s", i, p, resp.StatusCode, err, body)
					}
				}
			}
			if !strings.Contains(a.logs.String(), "KEY_NOT_SET_E2E") {
				t.Errorf("the log does not name the unset variable KEY_NOT_SET_E2E")
			}

			// Fixing the file applies again: remove "one".
			a.writeConfig(atlasConfig(two))
			a.waitStatus("/v1/apis/http/one/x", 404)
			a.waitStatus("/v1/apis/http/two/x", 200)
		})
	}
}

// envoyUptime is the managed Envoy's uptime from its admin /server_info
// (whole seconds); it only goes back if Envoy restarted.
func envoyUptime(t *testing.T, a *atlas) time.Duration {
	t.Helper()
	var info struct {
		UptimeAllEpochs string `json:"uptime_all_epochs"`
	}
	if err := json.Unmarshal([]byte(a.envoyAdminGet("/server_info")), &info); err != nil {
		t.Fatal(err)
	}
	up, err := time.ParseDuration(info.UptimeAllEpochs)
	if err != nil {
		t.Fatalf("uptime %q: %v", info.UptimeAllEpochs, err)
	}
	return up
}

// waitLog waits until the log has at least n lines containing substr.
func waitLog(t *testing.T, a *atlas, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if countLines(a.logs.String(), substr) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log never had %d lines with %q:\n%s", n, substr, a.logs.String())
}

func countLines(logs, substr string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
