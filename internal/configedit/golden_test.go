package configedit

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yml from the current output")

// seedAdapter is the adapter of the seed's example command. Its placeholder
// name is not a valid adapter name (upper case), so the golden test calls the
// editor directly; internal/mom's TestAddHTTPAdapterCLI runs the same edit
// through the CLI.
var seedAdapter = Adapter{
	Name:    "YOUR_ADAPTER_NAME",
	BaseURL: "https://api.stripe.com",
	Headers: [][2]string{{"Authorization", "Bearer ${{ STRIPE_API_KEY }}"}},
}

// seedDiff is the diff shown in the seed document, below its file headers.
const seedDiff = `@@ -28,6 +28,10 @@
       apiVersion: moment.dev/adapters/v1alpha1
       kind: HTTP
       name: pagerduty-2
+  - adapterRef:
+      apiVersion: moment.dev/adapters/v1alpha1
+      kind: HTTP
+      name: YOUR_ADAPTER_NAME
   exposedPorts: {}
   gatewayRegistration:
     backoff:
@@ -108,3 +112,13 @@
   headers:
   - name: Authorization
     value: Basic ${{ MAILCHIMP_API_KEY }}
+---
+apiVersion: moment.dev/adapters/v1alpha1
+kind: HTTP
+metadata:
+  name: YOUR_ADAPTER_NAME
+spec:
+  baseUrl: https://api.stripe.com
+  headers:
+  - name: Authorization
+    value: Bearer ${{ STRIPE_API_KEY }}
`

func TestAddHTTPAdapterGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/seed-config.yml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := AddHTTPAdapter(in, seedAdapter)
	if err != nil {
		t.Fatalf("addHTTPAdapter: %v", err)
	}
	const golden = "testdata/seed-config.golden.yml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	t.Run("diff matches the seed", func(t *testing.T) {
		if d := unifiedDiff(t, in, got); d != seedDiff {
			t.Errorf("diff -u input output =\n%s\nwant the seed's:\n%s", d, seedDiff)
		}
	})
}

// unifiedDiff runs diff -u and returns its hunks without the file headers.
func unifiedDiff(t *testing.T, a, b []byte) string {
	t.Helper()
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("diff is not installed")
	}
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	if err := os.WriteFile(pa, a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("diff", "-u", pa, pb).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("diff -u: %v", err)
	}
	lines := strings.SplitAfter(string(out), "\n")
	if len(lines) < 2 {
		return ""
	}
	return strings.Join(lines[2:], "")
}

// TestSeedExampleInSync keeps examples/moment-seed/atlas.yml and the CLI
// test's copies in internal/mom/testdata identical to this test's files, so
// the example shows exactly what the test edits.
func TestSeedExampleInSync(t *testing.T) {
	for _, pair := range [][2]string{
		{"testdata/seed-config.yml", "../../examples/moment-seed/atlas.yml"},
		{"testdata/seed-config.yml", "../mom/testdata/seed-config.yml"},
		{"testdata/seed-config.golden.yml", "../mom/testdata/seed-config.golden.yml"},
	} {
		a, errA := os.ReadFile(pair[0])
		b, errB := os.ReadFile(pair[1])
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from internal/configedit/%s (%v, %v); copy one over the other", pair[1], pair[0], errA, errB)
		}
	}
}
