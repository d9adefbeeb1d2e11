package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// (h) the injected value never appears in Envoy's config dump or in Atlas's
// logs, even with both at debug level (Envoy then prints request headers).
func TestSecretsNeverExposed(t *testing.T) {
	const secret = "sk_test_NEVERleakTHISvalue9876"
	up := startRecorder(t)
	for _, mode := range injectionModes {
		t.Run(mode, func(t *testing.T) {
			a := startAtlas(t, atlasConfig(adapter{
				name: "stripe", baseURL: fmt.Sprintf("http://127.0.0.1:%d", up.port()),
				headers: [][2]string{{"Authorization", "Bearer ${{ STRIPE_API_KEY }}"}},
			}), map[string]string{"STRIPE_API_KEY": secret},
				"--injection", mode, "--log-level", "debug", "--envoy-log-level", "debug")
			a.waitStatus("/v1/apis/http/stripe/v1/charges", 200)
			if _, _, err := a.do("GET", "/v1/apis/http/stripe/v1/customers", nil, "Authorization", "Bearer sk_live_forged"); err != nil {
				t.Fatal(err)
			}
			got := up.requests()
			if got[len(got)-1].Header.Get("Authorization") != "Bearer "+secret {
				t.Fatal("the secret was not injected, so this test would prove nothing")
			}
			// An invalid edit whose bad header carries the secret.
			bad := strings.Replace(atlasConfig(adapter{name: "stripe", baseURL: "ftp://nope",
				headers: [][2]string{{"Authorization", "\"Bearer ${{ STRIPE_API_KEY }}\\r\\nX: y\""}}}), "INGRESS_PORT", fmt.Sprint(a.ingress), 1)
			a.writeConfig(bad)
			waitLog(t, a, "the edited configuration is invalid", 1)

			dump := a.envoyAdminGet("/config_dump?include_eds")
			if !strings.Contains(dump, "envoy.admin.v3.") {
				t.Fatalf("config dump looks empty:\n%.500s", dump)
			}
			if mode == "static" && !strings.Contains(dump, "atlas/stripe/authorization") {
				t.Errorf("static mode: the SDS secret is missing from the dump, so redaction was not exercised")
			}
			for where, text := range map[string]string{"Envoy config dump": dump, "Atlas logs": a.logs.String()} {
				if strings.Contains(text, secret) || strings.Contains(text, "NEVERleakTHISvalue") {
					t.Errorf("%s contains the secret", where)
				}
			}
			// Envoy at debug prints the request headers the router sees.
			// In ext_proc mode they include the injected value, which the
			// redactor must have replaced. In static mode the value is added
			// later, by the cluster's upstream filter, and never printed:
			// the router's line must be there (so debug lines were
			// forwarded) and, above, must not hold the secret.
			switch logs := a.logs.String(); {
			case !strings.Contains(logs, "router decoding headers"):
				t.Errorf("no Envoy router debug line: Envoy's debug lines were not forwarded, so the check proves nothing")
			case mode == "extproc" && !strings.Contains(logs, "[REDACTED]"):
				t.Errorf("ext_proc mode: no redacted Envoy log line, though the router's headers include the injected credential")
			}
		})
	}
}
