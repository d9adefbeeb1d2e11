package admin

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
	"github.com/atlas-gateway/atlas/internal/config"
)

func TestExportConfig(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.secretsClient().SetSecret(ctx, &adminv1.SetSecretRequest{Name: "STRIPE_KEY", Value: []byte(stripeKeyValue)}); err != nil {
		t.Fatal(err)
	}
	ca := string(testCA(t))
	for _, a := range []*adminv1.Adapter{
		{Name: "zeta", BaseUrl: "http://127.0.0.1:8080"},
		{Name: "stripe", BaseUrl: "https://api.stripe.com", Tls: &adminv1.UpstreamTls{CaPem: ca},
			Headers: []*adminv1.Header{{Name: "Authorization", ValueTemplate: "Bearer ${{ secret:STRIPE_KEY }}"}}},
	} {
		if _, err := e.adapters().ApplyAdapter(ctx, &adminv1.ApplyAdapterRequest{Adapter: a}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := adminv1.NewConfigServiceClient(e.conn).ExportConfig(ctx, &adminv1.ExportConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := string(resp.GetYaml())

	t.Run("parses as an Atlas file serving every adapter", func(t *testing.T) {
		cfg, err := config.Parse("exported.yml", resp.GetYaml(), testOptions(ctx, e.store))
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%s", err, out)
		}
		var names []string
		for _, a := range cfg.Adapters {
			names = append(names, a.Name)
		}
		if got := strings.Join(names, ","); got != "filed,stripe,zeta" {
			t.Errorf("adapters = %s, want filed,stripe,zeta", got)
		}
		if a, _ := cfg.Adapter("stripe"); string(a.Upstream.CAPEM) != ca {
			t.Errorf("stripe CA = %q, want the applied bundle", a.Upstream.CAPEM)
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("warnings: %q", cfg.Warnings)
		}
	})
	t.Run("the file is kept and references stay unexpanded", func(t *testing.T) {
		if !strings.HasPrefix(out, fileYAML[:strings.Index(fileYAML, "---")]) || !strings.Contains(out, fileYAML[strings.Index(fileYAML, "---"):]) {
			t.Errorf("the file's text is not kept:\n%s", out)
		}
		if !strings.Contains(out, "Bearer ${{ secret:STRIPE_KEY }}") || strings.Index(out, "name: stripe\n") > strings.Index(out, "name: zeta\n") {
			t.Errorf("want API adapters appended by name, references unexpanded:\n%s", out)
		}
	})
}

func TestExportConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		code       codes.Code
		want       string
	}{
		{"no file", "", codes.FailedPrecondition, "no configuration file loaded"},
		{"file the editor cannot extend", "apiVersion: moment.dev/atlas/v1alpha1\nkind: Atlas\nspec:\n  apiAdapters: [{adapterRef: {name: x}}]\n", codes.FailedPrecondition, `cannot add API adapter "api1" to the exported file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(d *Deps) { d.FileConfig = func() []byte { return []byte(tt.file) } })
			if _, err := e.adapters().ApplyAdapter(t.Context(), &adminv1.ApplyAdapterRequest{Adapter: &adminv1.Adapter{Name: "api1", BaseUrl: "https://h"}}); err != nil {
				t.Fatal(err)
			}
			_, err := adminv1.NewConfigServiceClient(e.conn).ExportConfig(t.Context(), &adminv1.ExportConfigRequest{})
			wantStatus(t, err, tt.code, tt.want)
		})
	}
}
