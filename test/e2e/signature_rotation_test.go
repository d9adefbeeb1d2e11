package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rotation: while two secrets are configured, a signature by either (or a
// header with one v1 per secret) is accepted; removing the previous secret,
// or adding a new one, by editing the file takes effect without restarting
// Envoy or atlas.
func TestSignatureRotation(t *testing.T) {
	const getPath, postPath = "/v1/apis/http/stripe/v1/customers", "/v1/apis/http/backend/foo"
	user := `{"user_id":"usr_rot","account_id":"acct_rot"}`
	body := `{"amount":"1","user_id":"usr_rot","account_id":"acct_rot"}`
	get := func(secrets ...string) []string {
		return []string{"Stripe-Signature", multiSig(user, time.Now(), secrets...), "Stripe-User", user}
	}
	post := func(secret string) []string {
		return []string{"Stripe-Signature", signAt(body, secret, time.Now()), "Content-Type", "application/json"}
	}
	for _, filter := range sigFilters {
		t.Run(filter, func(t *testing.T) {
			up := startRecorder(t)
			a := startSigned(t, up, filter, "STRIPE_APP_SECRET", "STRIPE_APP_SECRET_PREVIOUS")
			started := envoyStarted(t, a)

			for _, c := range []struct {
				name string
				hdr  []string
			}{
				{"current", get(appSecret)},
				{"previous", get(appSecretPrev)},
				{"one v1 per secret", get(appSecret, appSecretPrev)},
				{"one v1 per secret, previous first", get(appSecretPrev, appSecret)},
				{"previous, and a v1 by an unknown secret", get(wrongSecret, appSecretPrev)},
			} {
				t.Run("both configured/"+c.name, func(t *testing.T) {
					checkIdentity(t, want200(t, a, up, "GET", getPath, "", c.hdr...), "usr_rot", "acct_rot", true)
				})
			}
			want200(t, a, up, "POST", postPath, body, post(appSecret)...)
			want200(t, a, up, "POST", postPath, body, post(appSecretPrev)...)
			// Not configured yet, although atlas's environment has it.
			refuse(t, a, up, "GET", getPath, "", "signature_invalid", get(nextSecret)...)

			// Let Envoy's uptime grow, so that a restart would show.
			time.Sleep(2500 * time.Millisecond)

			// Drop the previous secret: the edit applies live.
			a.writeConfig(sigConfig(up.port(), "STRIPE_APP_SECRET"))
			waitRefused(t, a, "GET", getPath, "", get, appSecretPrev)
			refuse(t, a, up, "POST", postPath, body, "signature_invalid", post(appSecretPrev)...)
			want200(t, a, up, "GET", getPath, "", get(appSecret)...)
			want200(t, a, up, "GET", getPath, "", get(appSecretPrev, appSecret)...)
			want200(t, a, up, "POST", postPath, body, post(appSecret)...)

			// Add the next secret: accepted without a restart, too.
			a.writeConfig(sigConfig(up.port(), "STRIPE_APP_SECRET_NEXT", "STRIPE_APP_SECRET"))
			waitAccepted(t, a, getPath, func() []string { return get(nextSecret) })
			want200(t, a, up, "GET", getPath, "", get(appSecret)...)
			refuse(t, a, up, "GET", getPath, "", "signature_invalid", get(appSecretPrev)...)

			// Uptime has whole seconds: without a restart the derived start
			// times differ by under a second; a restart after the sleep
			// would move it by 2.5 s or more.
			if now := envoyStarted(t, a); now.Sub(started).Abs() > 1500*time.Millisecond {
				t.Errorf("Envoy restarted during rotation: started at %v, now at %v", started, now)
			}
			if a.cmd.ProcessState != nil || a.cmd.Process.Signal(syscall.Signal(0)) != nil {
				t.Errorf("atlas is no longer running")
			}
			if n := countLines(a.logs.String(), `"msg":"started Envoy"`); n != 1 {
				t.Errorf("atlas started Envoy %d times, want once", n)
			}
		})
	}
}

// envoyStarted is when the managed Envoy started, from /server_info's
// uptime.
func envoyStarted(t *testing.T, a *atlas) time.Time {
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
	return time.Now().Add(-up)
}

// multiSig is a Stripe-Signature with one v1 per secret, at one t.
func multiSig(payload string, ts time.Time, secrets ...string) string {
	h := signAt(payload, secrets[0], ts)
	for _, s := range secrets[1:] {
		h += ",v1=" + v1Hex(payload, s, ts)
	}
	return h
}

// refuse asserts a 401 with code, and that nothing was forwarded.
func refuse(t *testing.T, a *atlas, up *recorder, method, path, body, code string, hdr ...string) {
	t.Helper()
	before := len(up.requests())
	resp, rb := mustDo(t, a, method, path, strings.NewReader(body), hdr...)
	checkError(t, resp, rb, 401, "invalid_request_error", code)
	if n := len(up.requests()) - before; n != 0 {
		t.Errorf("a refused %s %s reached the upstream", method, path)
	}
}

// waitRefused polls until a GET signed (freshly each time) with secret gets
// 401 signature_invalid.
func waitRefused(t *testing.T, a *atlas, method, path, body string, hdr func(...string) []string, secret string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, rb, err := a.do(method, path, strings.NewReader(body), hdr(secret)...)
		if err == nil && resp.StatusCode == 401 {
			if e, _ := decodeAPIError(rb); e.Error.Code == "signature_invalid" {
				return
			}
		}
		if err != nil {
			last = err.Error()
		} else {
			last = resp.Status + " " + rb
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the removed secret was still accepted 20 s after the edit; last: %s\n%s", last, a.logs.String())
}

func waitAccepted(t *testing.T, a *atlas, path string, hdr func() []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, rb, err := a.do("GET", path, nil, hdr()...)
		if err == nil && resp.StatusCode == 200 {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = resp.Status + " " + rb
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the added secret was not accepted 20 s after the edit; last: %s", last)
}
