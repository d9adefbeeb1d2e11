// Package stripenode runs the stripe-node oracle for tests:
// test/fixtures/stripe-node/oracle.js, the real stripe-node SDK that Stripe's
// docs use on App backends, pinned in that fixture's package.json. A missing
// node or package fails the test, never skips it: a skipped SDK check is a
// silent hole in CI.
package stripenode

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// Case is one operation for oracle.js.
type Case struct {
	Op        string `json:"op"`
	Payload   string `json:"payload,omitempty"`
	Secret    string `json:"secret,omitempty"`
	Timestamp int64  `json:"timestamp,omitempty"`
	Header    string `json:"header,omitempty"`
	Tolerance int    `json:"tolerance,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// Result is oracle.js's answer to one Case.
type Result struct {
	Header string `json:"header"`
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	JSON   string `json:"json"`
}

const install = "run `npm ci --prefix test/fixtures/stripe-node` from the repository root (make test does this)"

// Run sends cases to oracle.js in fixture (the path of
// test/fixtures/stripe-node from the test's directory) and returns one
// Result per case. It checks that the SDK that answered is the pinned one.
func Run(t testing.TB, fixture string, cases []Case) []Result {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): install Node.js >= 20, then %s", err, install)
	}
	pkg, err := os.ReadFile(filepath.Join(fixture, "node_modules", "stripe", "package.json"))
	if err != nil {
		t.Fatalf("stripe-node is not installed (%v): %s", err, install)
	}
	for _, c := range cases {
		// encoding/json would turn invalid UTF-8 into U+FFFD on the way.
		if !utf8.ValidString(c.Payload) || !utf8.ValidString(c.UserID) || !utf8.ValidString(c.AccountID) {
			t.Fatalf("oracle case %+v is not valid UTF-8 and would not reach node intact", c)
		}
	}
	in, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "oracle.js")
	cmd.Dir = fixture
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node oracle.js: %v\n%s", err, stderr.String())
	}
	var resp struct {
		StripeVersion string   `json:"stripe_version"`
		Results       []Result `json:"results"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("oracle output %q: %v", out, err)
	}
	var installed struct{ Version string }
	if err := json.Unmarshal(pkg, &installed); err != nil || installed.Version != resp.StripeVersion || resp.StripeVersion == "" {
		t.Fatalf("oracle ran stripe %q, node_modules has %q", resp.StripeVersion, installed.Version)
	}
	if want := pinned(t, fixture); resp.StripeVersion != want {
		t.Fatalf("node_modules has stripe %s but package.json pins %s: %s", resp.StripeVersion, want, install)
	}
	if len(resp.Results) != len(cases) {
		t.Fatalf("oracle answered %d of %d cases", len(resp.Results), len(cases))
	}
	return resp.Results
}

func pinned(t testing.TB, fixture string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	return pkg.Dependencies["stripe"]
}
