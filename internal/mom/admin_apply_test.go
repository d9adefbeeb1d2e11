package mom

import (
	"io/fs"
	"strings"
	"testing"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func TestAdaptersFromYAML(t *testing.T) {
	files := map[string]string{"conf/ca.pem": "PEM"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	tests := []struct {
		name, in string
		want     []*adminv1.Adapter
		err      string // every line must appear in the error
	}{
		{
			name: "templates stay literal, Moment keys ignored, empty documents skipped",
			in: `---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: stripe, owner: team}
spec:
  baseUrl: ${{ STRIPE_URL }}
  description: ignored
  headers:
  - {name: Authorization, value: "Bearer ${{ secret:STRIPE_API_KEY }}"}
  - {name: Stripe-Version, value: "2024-06-20"}
---
---
kind: HTTP
metadata: {name: internal}
spec: {baseUrl: "https://internal", tls: {caFile: ca.pem}}
`,
			want: []*adminv1.Adapter{
				{Name: "stripe", BaseUrl: "${{ STRIPE_URL }}", Headers: []*adminv1.Header{
					{Name: "Authorization", ValueTemplate: "Bearer ${{ secret:STRIPE_API_KEY }}"},
					{Name: "Stripe-Version", ValueTemplate: "2024-06-20"},
				}},
				{Name: "internal", BaseUrl: "https://internal", Tls: &adminv1.UpstreamTls{CaPem: "PEM"}},
			},
		},
		{name: "no documents", in: "# nothing\n", err: "conf/a.yml has no adapter document"},
		{name: "other kinds", in: "kind: Atlas\n---\nkind: AWS\n", err: "conf/a.yml:1: kind \"Atlas\"\nconf/a.yml:3: kind \"AWS\""},
		{
			name: "every problem, with lines",
			in: `apiVersion: moment.dev/adapters/v2
kind: HTTP
spec:
  headers: [{name: X-Key}]
  tls: {caFile: /nope.pem}
  stripeApp: {name: app}
`,
			err: strings.Join([]string{
				`conf/a.yml:1: HTTP adapter has apiVersion "moment.dev/adapters/v2"; use moment.dev/adapters/v1alpha1`,
				`conf/a.yml:1: metadata.name is required`,
				`conf/a.yml:6: adapter "": spec.stripeApp cannot be applied through the admin API; keep this adapter in the server's configuration file`,
				`conf/a.yml:1: adapter "": spec.baseUrl is required`,
				`conf/a.yml:1: adapter "": spec.headers[0] needs both name and value`,
				`conf/a.yml:1: adapter "": spec.tls.caFile: open /nope.pem: file does not exist`,
			}, "\n"),
		},
		{
			name: "same name twice",
			in:   "kind: HTTP\nmetadata: {name: a}\nspec: {baseUrl: 'http://a'}\n---\nkind: HTTP\nmetadata: {name: a}\nspec: {baseUrl: 'http://b'}\n",
			err:  `conf/a.yml:5: adapter "a" is defined twice (first at line 1); keep one`,
		},
		{name: "wrong shape", in: "kind: HTTP\nmetadata: [a]\n", err: "conf/a.yml:2: cannot unmarshal !!seq into struct"},
		{name: "not YAML", in: "kind: [\n", err: "conf/a.yml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := adaptersFromYAML("conf/a.yml", []byte(tt.in), readFile)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				protoDiff(t, &adminv1.ListAdaptersResponse{Adapters: tt.want}, &adminv1.ListAdaptersResponse{Adapters: got})
				return
			}
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			for _, line := range strings.Split(tt.err, "\n") {
				if !strings.Contains(err.Error(), line) {
					t.Errorf("error lacks %q:\n%v", line, err)
				}
			}
			if got != nil {
				t.Errorf("got adapters %v with the error", got)
			}
		})
	}
}
