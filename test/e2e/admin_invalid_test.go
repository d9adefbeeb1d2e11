package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Invalid input through mom gets exit 1 and a message that says what is
// wrong; grpcurl shows the gRPC code behind each.
func TestAdminInvalidInput(t *testing.T) {
	up := startRecorder(t)
	upURL := fmt.Sprintf("http://127.0.0.1:%d", up.port())
	token := randomHex(t, 16)
	a := startAtlas(t, atlasConfig(adapter{name: "filed", baseURL: upURL, headers: [][2]string{{"X-Filed", "yes"}}}),
		map[string]string{"ATLAS_ADMIN_TOKEN": token})
	a.waitStatus("/v1/apis/http/filed/ready", 200)
	admin := a.adminAddr()
	call := func(method, body string) (string, string) { return grpcCode(t, a, token, method, body) }

	// A bad baseUrl and a reference to a missing secret: one line each.
	bad := writeTemp(t, "bad.yml", httpDoc("broken", "ftp://nope.example", [2]string{"Authorization", "Bearer ${{ secret:MISSING }}"}))
	r := mom(t, token, "", "adapters", "apply", "-f", bad, "--admin", admin)
	lines := problemLines(r.stderr)
	if r.code != 1 || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "adapter.base_url: ") || !strings.Contains(lines[0], `scheme "ftp" is not supported`) ||
		!strings.HasPrefix(lines[1], "adapter.headers[0].value_template: ") || !strings.Contains(lines[1], "stored secret MISSING does not exist") ||
		!strings.Contains(r.stderr, `adapter "broken" was not applied`) {
		t.Errorf("apply of an invalid adapter: want exit 1 and one line per problem (baseUrl, the missing secret); got %s", r)
	}
	if code, out := call("atlas.admin.v1.AdapterService/ApplyAdapter",
		`{"adapter":{"name":"broken","baseUrl":"ftp://nope.example","headers":[{"name":"Authorization","valueTemplate":"Bearer ${{ secret:MISSING }}"}]}}`); code != "InvalidArgument" {
		t.Errorf("ApplyAdapter of an invalid adapter: code %s, want InvalidArgument\n%s", code, out)
	}
	if code, out := call("atlas.admin.v1.AdapterService/ApplyAdapter", `{"adapter":{"name":"Bad Name!","baseUrl":"`+upURL+`"}}`); code != "InvalidArgument" || !strings.Contains(out, "adapter.name") {
		t.Errorf("ApplyAdapter with a bad name: code %s, want InvalidArgument on adapter.name\n%s", code, out)
	}
	a.waitStatus("/v1/apis/http/broken/x", 404)

	// A name that the configuration file defines: read-only, with file:line.
	clash := writeTemp(t, "clash.yml", httpDoc("filed", upURL))
	r = mom(t, token, "", "adapters", "apply", "-f", clash, "--admin", admin)
	where := fmt.Sprintf("%s:%d", a.configPath, fileDocLine(t, a.configPath, "filed"))
	if r.code != 1 || !strings.Contains(r.stderr, "defined in the configuration file at "+where) {
		t.Errorf("apply of a file adapter's name: want exit 1 naming %s; got %s", where, r)
	}
	if code, out := call("atlas.admin.v1.AdapterService/ApplyAdapter", `{"adapter":{"name":"filed","baseUrl":"`+upURL+`"}}`); code != "FailedPrecondition" {
		t.Errorf("ApplyAdapter of a file adapter's name: code %s, want FailedPrecondition\n%s", code, out)
	}
	if code, out := call("atlas.admin.v1.AdapterService/DeleteAdapter", `{"name":"filed"}`); code != "FailedPrecondition" || !strings.Contains(out, where) {
		t.Errorf("DeleteAdapter of a file adapter: code %s, want FailedPrecondition naming %s\n%s", code, where, out)
	}

	// Unknown names: NotFound.
	r = mom(t, token, "", "adapters", "delete", "nosuch", "--admin", admin)
	if r.code != 1 || !strings.Contains(r.stderr, `adapter "nosuch" does not exist`) {
		t.Errorf("delete of an unknown adapter: %s", r)
	}
	for method, body := range map[string]string{
		"atlas.admin.v1.AdapterService/DeleteAdapter": `{"name":"nosuch"}`,
		"atlas.admin.v1.AdapterService/GetAdapter":    `{"name":"nosuch"}`,
		"atlas.admin.v1.SecretService/DeleteSecret":   `{"name":"NOSUCH"}`,
	} {
		if code, out := call(method, body); code != "NotFound" {
			t.Errorf("%s %s: code %s, want NotFound\n%s", method, body, code, out)
		}
	}

	// A secret an API adapter references cannot be deleted.
	mustMom(t, token, "in-use-value", "secrets", "set", "USED", "--admin", admin)
	user := writeTemp(t, "user.yml", httpDoc("user", upURL, [2]string{"Authorization", "Bearer ${{ secret:USED }}"}))
	mustMom(t, token, "", "adapters", "apply", "-f", user, "--admin", admin)
	r = mom(t, token, "", "secrets", "delete", "USED", "--admin", admin)
	if r.code != 1 || !strings.Contains(r.stderr, `still referenced`) || !strings.Contains(r.stderr, `API adapter "user"`) {
		t.Errorf("secrets delete of a referenced secret: %s", r)
	}
	if code, out := call("atlas.admin.v1.SecretService/DeleteSecret", `{"name":"USED"}`); code != "FailedPrecondition" {
		t.Errorf("DeleteSecret of a referenced secret: code %s, want FailedPrecondition\n%s", code, out)
	}
	// Secret input problems, never echoing the value.
	for body, field := range map[string]string{`{"name":"1BAD","value":"dg=="}`: "name", `{"name":"OK","value":"YQpi"}`: "value"} {
		if code, out := call("atlas.admin.v1.SecretService/SetSecret", body); code != "InvalidArgument" || !strings.Contains(out, field+":") {
			t.Errorf("SetSecret %s: code %s, want InvalidArgument on %s\n%s", body, code, field, out)
		}
	}
	if r := mom(t, token, "", "secrets", "list", "--admin", admin); r.code != 0 || !strings.Contains(r.stdout, "USED") || strings.Contains(r.stdout, "in-use-value") {
		t.Errorf("secrets list: %s", r)
	}
}

// problemLines are the indented lines mom prints under an InvalidArgument.
func problemLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "  ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// fileDocLine is the first line of adapter name's `kind: HTTP` document in
// the configuration file at path: the line after its --- separator.
func fileDocLine(t *testing.T, path, name string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	line := 1
	for _, d := range docs {
		if strings.Contains(d, "kind: HTTP\n") && strings.Contains(d, "\n  name: "+name+"\n") {
			return line
		}
		line += strings.Count(d, "\n") + 2
	}
	t.Fatalf("no HTTP document named %s in %s", name, path)
	return 0
}
