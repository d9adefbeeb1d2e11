package translate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/atlas-gateway/atlas/internal/model"
)

var update = flag.Bool("update", false, "rewrite testdata/out from the current translator and delete stale outputs")

// goldenInput is a test case: a model config plus translation options.
type goldenInput struct {
	Options Options      `json:"options"`
	Config  model.Config `json:"config"`
}

func TestTranslateGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs in testdata/in (err=%v)", err)
	}
	want := map[string]bool{}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		outPath := filepath.Join("testdata", "out", name+".yaml")
		want[outPath] = true
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var gi goldenInput
			if err := yaml.UnmarshalStrict(raw, &gi); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			res, err := Translate(&gi.Config, gi.Options)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			got := renderResources(t, res)
			if *update {
				if err := os.WriteFile(outPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("%v (run: go test ./internal/translate -update)", err)
			}
			if string(exp) != string(got) {
				t.Errorf("%s differs from the translator's output (run with -update if the change is intended):\n%s", outPath, lineDiff(string(exp), string(got)))
			}
		})
	}
	if *update {
		outs, _ := filepath.Glob("testdata/out/*.yaml")
		for _, o := range outs {
			if !want[o] {
				_ = os.Remove(o)
			}
		}
	}
}

func renderResources(t *testing.T, r *Resources) []byte {
	t.Helper()
	doc := map[string][]json.RawMessage{}
	add := func(kind string, rs []types.Resource) {
		for _, m := range rs {
			b, err := protojson.Marshal(m)
			if err != nil {
				t.Fatalf("marshal %s: %v", kind, err)
			}
			doc[kind] = append(doc[kind], b)
		}
	}
	add("listeners", r.Listeners)
	add("routes", r.Routes)
	add("clusters", r.Clusters)
	add("secrets", r.Secrets)
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// lineDiff shows the first differing lines; enough to see what moved.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var sb strings.Builder
	shown := 0
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			sb.WriteString("line " + itoa(i+1) + ":\n- " + x + "\n+ " + y + "\n")
			if shown++; shown > 10 {
				break
			}
		}
	}
	return sb.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// Translating the same configuration twice gives equal resources, so the
// xDS server sends nothing when nothing changed (map fields inside packed
// Anys, such as the JSON error bodies of the listener, must be marshalled in
// a stable order for that).
func TestTranslateIsStable(t *testing.T) {
	cfg := &model.Config{Adapters: []model.Adapter{{
		Name:     "stripe",
		Upstream: model.Upstream{Scheme: "https", Host: "api.stripe.com", Port: 443},
		Headers:  []model.Header{{Name: "Authorization", Value: "Bearer sk_test_x"}},
	}}}
	for _, inj := range []Injection{InjectionStatic, InjectionExtProc} {
		first, err := Translate(cfg, Options{Injection: inj})
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			next, err := Translate(cfg, Options{Injection: inj})
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range first.Listeners {
				if !proto.Equal(l, next.Listeners[i]) {
					t.Fatalf("%s: the listener differs between two translations of the same config", inj)
				}
			}
		}
	}
}
