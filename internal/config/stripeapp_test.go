package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atlas-gateway/atlas/internal/model"
)

func TestLoadStripeApp(t *testing.T) {
	cfg, err := Load("testdata/stripe-app.yaml", testOptions(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantApps := []model.StripeApp{
		{Name: "another-app", SigningSecrets: []string{"whsec_s3cr3t_hook_5b4a"}, Tolerance: time.Hour, MaxBodyBytes: 16 << 20, Source: "testdata/stripe-app.yaml:40"},
		{Name: "my-app", SigningSecrets: []string{"absec_s3cr3t_current_9f8e", "absec_s3cr3t_previous_7d6c"}, Tolerance: 300 * time.Second, MaxBodyBytes: model.DefaultMaxBodyBytes, Source: "testdata/stripe-app.yaml:17"},
	}
	if !reflect.DeepEqual(cfg.StripeApps, wantApps) {
		t.Errorf("StripeApps = %+v,\nwant %+v", cfg.StripeApps, wantApps)
	}
	wantAdapters := []model.Adapter{{
		Name:      "backend",
		Upstream:  model.Upstream{Scheme: "http", Host: "127.0.0.1", Port: 3000},
		StripeApp: &model.AdapterStripeApp{Name: "another-app"},
		Source:    "testdata/stripe-app.yaml:49",
	}, {
		Name:      "stripe",
		Upstream:  model.Upstream{Scheme: "https", Host: "api.stripe.com", Port: 443},
		Headers:   []model.Header{{Name: "Authorization", Value: "Bearer sk_test_s3cr3t_4242"}},
		StripeApp: &model.AdapterStripeApp{Name: "my-app", OnBehalfOf: true},
		Source:    "testdata/stripe-app.yaml:27",
	}}
	if !reflect.DeepEqual(cfg.Adapters, wantAdapters) {
		t.Errorf("Adapters = %+v,\nwant %+v", cfg.Adapters, wantAdapters)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", cfg.Warnings)
	}
	if app, ok := cfg.StripeApp("my-app"); !ok || app.Name != "my-app" {
		t.Errorf("cfg.StripeApp(my-app) = %v, %v", app, ok)
	}
}

func TestStripeAppExampleHasNoWarnings(t *testing.T) {
	cfg, err := Load("../../examples/stripe-app/atlas.yml", testOptions(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", cfg.Warnings)
	}
	if cfg.IngressPort != 8082 || len(cfg.StripeApps) != 1 || cfg.StripeApps[0].Tolerance != 300*time.Second {
		t.Errorf("cfg = %+v", cfg)
	}
	stripe, _ := cfg.Adapter("stripe")
	backend, _ := cfg.Adapter("backend")
	if stripe == nil || backend == nil || !reflect.DeepEqual(stripe.StripeApp, &model.AdapterStripeApp{Name: "my-app", OnBehalfOf: true}) ||
		!reflect.DeepEqual(backend.StripeApp, &model.AdapterStripeApp{Name: "my-app"}) {
		t.Errorf("adapters = %+v", cfg.Adapters)
	}
}

func TestStripeAppWarnings(t *testing.T) {
	const f = "testdata/stripe-app-warnings.yaml"
	cfg, err := Load(f, testOptions(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{
		f + `:7: adapterRef "my-app" has kind StripeApp; StripeApp documents need no adapterRef`,
		f + `:15: StripeApp "my-app": spec.signingSecrets[0] (from ${{ ODD_SECRET }}) does not start with absec_ or whsec_`,
		f + `:16: StripeApp "my-app": spec.signingSecrets[1] does not start with absec_ or whsec_`,
		f + `:17: StripeApp "my-app": spec.tolerence is not a known field (known: signingSecrets, tolerance, maxBodyBytes`, // more keys follow (oauthProviders, …)
		f + `:19: StripeApp "unused" is used by no adapter, so it has no effect`,
		f + `:26: a document of kind OAuthProvider under apiVersion atlas/v1alpha1 is not supported by this Atlas`,
		f + `:41: adapter "stripe": spec.stripeApp.onBehalfOf is true but the adapter injects no Authorization header`,
		f + `:42: adapter "stripe": spec.stripeApp.onBehalfof is not a known field (known: name, onBehalfOf)`,
	}
	if len(cfg.Warnings) != len(want) {
		t.Fatalf("got %d warnings, want %d:\n%s", len(cfg.Warnings), len(want), strings.Join(cfg.Warnings, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(cfg.Warnings[i], w) {
			t.Errorf("warning %d:\n got: %s\nwant: %s…", i, cfg.Warnings[i], w)
		}
	}
	if app, _ := cfg.StripeApp("my-app"); app.Tolerance != model.DefaultSignatureTolerance || app.MaxBodyBytes != model.DefaultMaxBodyBytes {
		t.Errorf("defaults not applied: %+v", app)
	}
}

func TestParseStripeAppErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each problem, in order, as "line: message prefix"
	}{
		{"stripeapp-unset-secret.yaml", []string{
			`25: StripeApp "my-app": spec.signingSecrets[1]: environment variable STRIPE_APP_SECRET_ROTATED is not set; remove this entry or export STRIPE_APP_SECRET_ROTATED`,
		}},
		{"stripeapp-bad-secrets.yaml", []string{
			`25: StripeApp "my-app": spec.signingSecrets[1] is empty after expanding ${{ EMPTY_SECRET }}; set it to the app's signing secret`,
			`26: StripeApp "my-app": spec.signingSecrets[2] is empty; write the secret as ${{ NAME }}`,
			`27: StripeApp "my-app": spec.signingSecrets[3] is empty`,
			`28: StripeApp "my-app": spec.signingSecrets[4] (from ${{ NEWLINE_SECRET }}) contains whitespace or a control character at byte 12`,
			`29: StripeApp "my-app": spec.signingSecrets[5] contains whitespace or a control character at byte 12`,
			`30: StripeApp "my-app": spec.signingSecrets[6] must be a string such as ${{ STRIPE_APP_SECRET }}, not a list`,
		}},
		{"stripeapp-no-secrets.yaml", []string{`23: StripeApp "my-app": spec.signingSecrets is empty; list at least one`}},
		{"stripeapp-secrets-misspelled.yaml", []string{
			`23: StripeApp "my-app": spec.signingSecrets is missing; list the app's signing secrets (absec_…), e.g. ` +
				"`signingSecrets: [\"${{ STRIPE_APP_SECRET }}\"]` (found \"signingSecret\" at line 23: the key is spelled signingSecrets)",
		}},
		{"stripeapp-duplicate.yaml", []string{`25: duplicate StripeApp name "my-app" (also defined at testdata/errors/stripeapp-duplicate.yaml:18)`}},
		{"stripeapp-limits.yaml", []string{
			`24: StripeApp "my-app": spec.tolerance is 2h0m0s; it must be greater than 0 and at most 1h`,
			`25: StripeApp "my-app": spec.maxBodyBytes is "16777217"; use a whole number of bytes from 1 to 16777216 (16 MiB)`,
			`33: StripeApp "zero": spec.tolerance is 0s; it must be greater than 0 and at most 1h`,
			`34: StripeApp "zero": spec.maxBodyBytes is "0"`,
			`42: StripeApp "units": spec.tolerance is "300", not a duration; write it like 300s or 5m (a unit is required, e.g. 300s)`,
			`43: StripeApp "units": spec.maxBodyBytes is "1MiB"`,
			`51: StripeApp "negative": spec.tolerance is -5m0s; it must be greater than 0`,
		}},
		{"stripeapp-refs.yaml", []string{
			`26: adapter "a": spec.stripeApp.name "my-ap" matches no StripeApp document; StripeApps in this file: my-app, other-app`,
			`33: adapter "b": spec.stripeApp.name is missing; set it to the metadata.name of a StripeApp document`,
			`40: adapter "c": spec.stripeApp.onBehalfOf is "true"; it must be true or false (unquoted)`,
			`47: adapter "d": spec.stripeApp must be a mapping such as {name: my-app, onBehalfOf: true}, not a scalar`,
			`57: adapter "e": spec.stripeApp.onBehalfOf sets Stripe-Account from the verified signature, but spec.headers also sets Stripe-Account; remove that header`,
		}},
		{"stripeapp-no-apps.yaml", []string{
			`12: adapter "a": spec.stripeApp.name "my-app" matches no StripeApp document; this file has none; add a document with ` + "`apiVersion: atlas/v1alpha1`, `kind: StripeApp`",
		}},
		{"stripeapp-api-version.yaml", []string{
			`4: StripeApp document has apiVersion "moment.dev/adapters/v1alpha1"; use atlas/v1alpha1`,
			`6: StripeApp name "My App" is not a single URL path segment`,
			`10: StripeApp document has apiVersion ""; use atlas/v1alpha1`,
			`10: StripeApp "no-version" has no spec mapping; it needs at least spec.signingSecrets`,
			`13: StripeApp metadata.name is missing`,
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			path := "testdata/errors/" + tt.file
			cfg, err := Load(path, testOptions(nil))
			if err == nil {
				t.Fatalf("Load succeeded with %d StripeApps, want errors", len(cfg.StripeApps))
			}
			got := problems(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], path+":"+w) {
					t.Errorf("problem %d:\n got: %s\nwant: %s:%s…", i, got[i], path, w)
				}
			}
		})
	}
}

// TestStripeAppEdgeCases covers small inline variations.
func TestStripeAppEdgeCases(t *testing.T) {
	head := atlasHead + "spec:\n  apiAdapters:\n  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}\n" + stripeDoc
	app := "---\napiVersion: atlas/v1alpha1\nkind: StripeApp\nmetadata: {name: my-app}\n"
	tests := []struct {
		name, yaml, wantErr string // wantErr "" means success
		wantSecrets         int
	}{
		{"yes is not a boolean", head + "  stripeApp: {name: my-app, onBehalfOf: yes}\n" + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}']}\n", `12: adapter "stripe": spec.stripeApp.onBehalfOf is "yes"; it must be true or false`, 0},
		{"onBehalfOf list", head + "  stripeApp: {name: my-app, onBehalfOf: [true]}\n" + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}']}\n", `12: adapter "stripe": spec.stripeApp.onBehalfOf is a list;`, 0},
		{"onBehalfOf false", head + "  stripeApp: {name: my-app, onBehalfOf: false}\n" + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}']}\n", "", 1},
		{"null stripeApp", head + "  stripeApp:\n", "", 0},
		{"empty stripeApp", head + "  stripeApp: {}\n", `12: adapter "stripe": spec.stripeApp.name is missing`, 0},
		{"name from env", head + "  stripeApp: {name: '${{ APP_NAME }}'}\n" + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}']}\n", `12: adapter "stripe": spec.stripeApp.name: environment variable APP_NAME is not set`, 0},
		{"secrets scalar", head + app + "spec: {signingSecrets: '${{ STRIPE_APP_SECRET }}'}\n", `16: StripeApp "my-app": spec.signingSecrets must be a list of secrets, not a scalar`, 0},
		{"secrets null", head + app + "spec: {signingSecrets: }\n", `16: StripeApp "my-app": spec.signingSecrets is missing`, 0},
		{"no spec", head + app, `13: StripeApp "my-app" has no spec mapping`, 0},
		{"unused app is only a warning", head + app + "spec: {signingSecrets: ['${{ WEBHOOK_SECRET }}']}\n", "", 1},
		{"aliased secrets", head + "  stripeApp: {name: my-app}\n" + app + "spec:\n  signingSecrets: &s ['${{ STRIPE_APP_SECRET }}', '${{ STRIPE_APP_SECRET_PREVIOUS }}']\n", "", 2},
		{"bad reference", head + app + "spec: {signingSecrets: ['${{ not-a-name }}']}\n", `16: StripeApp "my-app": spec.signingSecrets[0]: reference "${{ not-a-name }}" does not name`, 0},
		{"tolerance list", head + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}'], tolerance: [1s]}\n", `16: StripeApp "my-app": spec.tolerance must be a string, not a list`, 0},
		{"tolerance at limit", head + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}'], tolerance: 60m, maxBodyBytes: 1}\n", "", 1},
		{"secret in tolerance not echoed", head + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}'], tolerance: '${{ STRIPE_APP_SECRET }}'}\n", `16: StripeApp "my-app": spec.tolerance is "${{ STRIPE_APP_SECRET }}", not a duration`, 0},
		{"secret in maxBodyBytes not echoed", head + app + "spec: {signingSecrets: ['${{ STRIPE_APP_SECRET }}'], maxBodyBytes: '${{ STRIPE_APP_SECRET }}'}\n", `16: StripeApp "my-app": spec.maxBodyBytes is "${{ STRIPE_APP_SECRET }}";`, 0},
		{"secret in name not echoed", head + "  stripeApp: {name: '${{ STRIPE_APP_SECRET }}'}\n", `12: adapter "stripe": spec.stripeApp.name "${{ STRIPE_APP_SECRET }}" matches no StripeApp`, 0},
		{"secret in port not echoed", atlasHead + "spec: {exposedPorts: {adminPort: '${{ STRIPE_APP_SECRET }}'}}\n", `3: spec.exposedPorts.adminPort is "${{ STRIPE_APP_SECRET }}";`, 0},
		{"unknown atlas kind without name", head + "---\napiVersion: atlas/v1alpha1\nkind: Future\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("atlas.yml", []byte(tt.yaml), testOptions(nil))
			if err != nil && strings.Contains(err.Error(), secretMarker) {
				t.Errorf("error leaks a secret: %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "atlas.yml:"+tt.wantErr) {
					t.Fatalf("err = %v, want one starting with %q", err, "atlas.yml:"+tt.wantErr)
				}
				if len(problems(err)) != 1 {
					t.Errorf("want exactly one problem, got:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			n := 0
			for _, a := range cfg.StripeApps {
				n += len(a.SigningSecrets)
			}
			if n != tt.wantSecrets {
				t.Errorf("got %d signing secrets, want %d", n, tt.wantSecrets)
			}
			for _, w := range cfg.Warnings {
				if strings.Contains(w, secretMarker) {
					t.Errorf("warning leaks a secret: %s", w)
				}
			}
		})
	}
}
