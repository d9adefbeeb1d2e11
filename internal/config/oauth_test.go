package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/model"
)

// oauthEnv adds the OAuth variables to testEnv.
func oauthOptions() Options {
	extra := map[string]string{
		"GITHUB_CLIENT_SECRET":  "gh-client-s3cr3t",
		"NEWLINE_CLIENT_SECRET": "gh-s3cr3t\n",
		"EMPTY_CLIENT_SECRET":   "",
	}
	o := testOptions(nil)
	o.LookupEnv = func(k string) (string, bool) {
		if v, ok := extra[k]; ok {
			return v, true
		}
		v, ok := testEnv[k]
		return v, ok
	}
	return o
}

// oauthDoc is a valid config whose StripeApp "my-app" (line 12) has spec
// lines from line 16 on, where the test's providers start.
const oauthDoc = atlasHead + `spec:
  apiAdapters:
  - adapterRef: {apiVersion: moment.dev/adapters/v1alpha1, kind: HTTP, name: stripe}
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata: {name: stripe}
spec: {baseUrl: https://api.stripe.com, stripeApp: {name: my-app}}
---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: my-app}
spec:
  signingSecrets: ['${{ STRIPE_APP_SECRET }}']
`

const githubProvider = `  - name: github
    authorizeUrl: https://github.com/login/oauth/authorize
    tokenUrl: https://github.com/login/oauth/access_token
    clientId: Iv1.abc
    clientSecret: ${{ GITHUB_CLIENT_SECRET }}
    scopes: [repo, 'read:user']
    apiBaseUrl: https://api.github.com/
    redirectUrl: https://atlas.example.com/v1/oauth/github/callback
`

func TestOAuthProviders(t *testing.T) {
	yaml := oauthDoc + "  oauthProviders:\n" + githubProvider + `  - name: dropbox
    authorizeUrl: https://www.dropbox.com/oauth2/authorize?token_access_type=offline
    tokenUrl: https://api.dropboxapi.com/oauth2/token
    clientId: dbx
    clientAuth: post
    pkce: true
    apiBaseUrl: https://api.dropboxapi.com/2
    redirectUrl: http://127.0.0.1:8082/v1/oauth/dropbox/callback
`
	cfg, err := Parse("atlas.yml", []byte(yaml), oauthOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	want := []model.OAuthProvider{{
		Name:         "github",
		AuthorizeURL: "https://github.com/login/oauth/authorize",
		TokenURL:     "https://github.com/login/oauth/access_token",
		ClientID:     "Iv1.abc",
		ClientSecret: "gh-client-s3cr3t",
		ClientAuth:   model.OAuthClientAuthBasic,
		Scopes:       []string{"repo", "read:user"},
		APIBaseURL:   "https://api.github.com",
		RedirectURL:  "https://atlas.example.com/v1/oauth/github/callback",
		Source:       "atlas.yml:18",
	}, {
		Name:         "dropbox",
		AuthorizeURL: "https://www.dropbox.com/oauth2/authorize?token_access_type=offline",
		TokenURL:     "https://api.dropboxapi.com/oauth2/token",
		ClientID:     "dbx",
		ClientAuth:   model.OAuthClientAuthPost,
		APIBaseURL:   "https://api.dropboxapi.com/2",
		PKCE:         true,
		RedirectURL:  "http://127.0.0.1:8082/v1/oauth/dropbox/callback",
		Source:       "atlas.yml:26",
	}}
	if got := cfg.StripeApps[0].OAuthProviders; !reflect.DeepEqual(got, want) {
		t.Errorf("OAuthProviders =\n%+v\nwant\n%+v", got, want)
	}
	app, prov, ok := cfg.OAuthProvider("dropbox")
	if !ok || app.Name != "my-app" || prov.ClientID != "dbx" {
		t.Errorf("cfg.OAuthProvider(dropbox) = %v, %v, %v", app, prov, ok)
	}
	if _, _, ok := cfg.OAuthProvider("nope"); ok {
		t.Error("cfg.OAuthProvider(nope) found something")
	}
}

func TestOAuthProviderProblems(t *testing.T) {
	// replace swaps one line of githubProvider (by its key) for another.
	replace := func(key, line string) string {
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(githubProvider, "\n"), "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " -"), key+":") {
				if line == "" {
					continue
				}
				indent := "    "
				if strings.HasPrefix(l, "  - ") {
					indent = "  - "
				}
				l = indent + line
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n") + "\n"
	}
	const f = `StripeApp "my-app": spec.oauthProviders[0] (github)`
	tests := []struct {
		name      string
		providers string
		want      string // the one problem, "line: message prefix"; "" for none
		warning   string // one warning, same form; "" for none
	}{
		{"not a list", "  oauthProviders: {name: github}\n", `17: StripeApp "my-app": spec.oauthProviders must be a list`, ""},
		{"entry not a mapping", "  oauthProviders: [github]\n", `17: StripeApp "my-app": spec.oauthProviders[0] must be a mapping`, ""},
		{"no name", "  oauthProviders:\n  - {clientId: x}\n", `18: StripeApp "my-app": spec.oauthProviders[0].name is missing`, ""},
		{"bad name", "  oauthProviders:\n" + replace("name", "name: Git Hub"), `18: StripeApp "my-app": spec.oauthProviders[0]: OAuth provider name "Git Hub" is not a single URL path segment`, ""},
		{"twice in one app", "  oauthProviders:\n" + githubProvider + githubProvider, `26: StripeApp "my-app": spec.oauthProviders: provider name "github" is used twice in this app (first at atlas.yml:18)`, ""},
		{"authorizeUrl missing", "  oauthProviders:\n" + replace("authorizeUrl", ""), `18: ` + f + `.authorizeUrl is missing; set it to the provider's authorization endpoint`, ""},
		{"authorizeUrl relative", "  oauthProviders:\n" + replace("authorizeUrl", "authorizeUrl: /login"), `19: ` + f + `.authorizeUrl: must be an absolute https:// URL`, ""},
		{"tokenUrl with user", "  oauthProviders:\n" + replace("tokenUrl", "tokenUrl: https://u:p@github.com/token"), `20: ` + f + `.tokenUrl: must not contain user information`, ""},
		{"tokenUrl fragment", "  oauthProviders:\n" + replace("tokenUrl", "tokenUrl: https://github.com/token#x"), `20: ` + f + `.tokenUrl: must not contain a fragment`, ""},
		{"tokenUrl cleartext", "  oauthProviders:\n" + replace("tokenUrl", "tokenUrl: http://github.com/token"), "", `20: ` + f + `.tokenUrl uses http://`},
		{"clientId missing", "  oauthProviders:\n" + replace("clientId", ""), `18: ` + f + `.clientId is missing`, ""},
		{"clientSecret missing", "  oauthProviders:\n" + replace("clientSecret", ""), `18: ` + f + `.clientSecret is missing; set it to the provider's client secret as ${{ NAME }}`, ""},
		{"clientSecret optional with pkce", "  oauthProviders:\n" + replace("clientSecret", "pkce: true"), "", ""},
		{"clientSecret unset", "  oauthProviders:\n" + replace("clientSecret", "clientSecret: ${{ NOPE }}"), `22: ` + f + `.clientSecret: environment variable NOPE is not set`, ""},
		{"clientSecret empty", "  oauthProviders:\n" + replace("clientSecret", "clientSecret: ${{ EMPTY_CLIENT_SECRET }}"), `22: ` + f + `.clientSecret (from ${{ EMPTY_CLIENT_SECRET }}) is empty`, ""},
		{"clientSecret newline", "  oauthProviders:\n" + replace("clientSecret", "clientSecret: ${{ NEWLINE_CLIENT_SECRET }}"), `22: ` + f + `.clientSecret (from ${{ NEWLINE_CLIENT_SECRET }}) contains whitespace or a control character at byte 9`, ""},
		{"clientSecret literal", "  oauthProviders:\n" + replace("clientSecret", "clientSecret: s3cr3t-literal"), "", `22: ` + f + `.clientSecret is written in the file`},
		{"clientSecret list", "  oauthProviders:\n" + replace("clientSecret", "clientSecret: [a]"), `22: ` + f + `.clientSecret must be a string`, ""},
		{"clientAuth unknown", "  oauthProviders:\n" + replace("clientSecret", "clientAuth: jwt\n    clientSecret: ${{ GITHUB_CLIENT_SECRET }}"), `22: ` + f + `.clientAuth is "jwt"; use basic`, ""},
		{"pkce quoted", "  oauthProviders:\n" + replace("clientId", "clientId: x\n    pkce: 'true'"), `22: ` + f + `.pkce is "true"; it must be true or false`, ""},
		{"scopes scalar", "  oauthProviders:\n" + replace("scopes", "scopes: repo user"), `23: ` + f + `.scopes must be a list`, ""},
		{"scope with space", "  oauthProviders:\n" + replace("scopes", "scopes: ['repo user']"), `23: ` + f + `.scopes[0] is "repo user"; a scope is one non-empty token`, ""},
		{"apiBaseUrl query", "  oauthProviders:\n" + replace("apiBaseUrl", "apiBaseUrl: https://api.github.com?x=1"), `24: ` + f + `.apiBaseUrl: must not contain a query string`, ""},
		{"apiBaseUrl missing", "  oauthProviders:\n" + replace("apiBaseUrl", ""), `18: ` + f + `.apiBaseUrl is missing`, ""},
		{"redirectUrl missing", "  oauthProviders:\n" + replace("redirectUrl", ""), `18: ` + f + `.redirectUrl is missing; set it to Atlas's public callback URL as registered at the provider, e.g. https://atlas.example.com/v1/oauth/github/callback`, ""},
		{"redirectUrl query", "  oauthProviders:\n" + replace("redirectUrl", "redirectUrl: https://atlas.example.com/v1/oauth/github/callback?x=1"), `25: ` + f + `.redirectUrl: must not contain a query string`, ""},
		{"redirectUrl other path", "  oauthProviders:\n" + replace("redirectUrl", "redirectUrl: https://atlas.example.com/oauth/cb"), "", `25: ` + f + `.redirectUrl has path "/oauth/cb", but Atlas serves the callback at /v1/oauth/github/callback`},
		{"unknown key", "  oauthProviders:\n" + replace("clientId", "clientId: x\n    clientID: y"), "", `22: ` + f + `.clientID is not a known field`},
		{"misspelled key", "  oauthProviders:\n" + replace("tokenUrl", "tokenURL: https://github.com/token"), `18: ` + f + `.tokenUrl is missing; set it to the provider's token endpoint, e.g. https://github.com/login/oauth/access_token (found "tokenURL" at line 20`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("atlas.yml", []byte(oauthDoc+tt.providers), oauthOptions())
			if err != nil && strings.Contains(err.Error(), secretMarker) {
				t.Errorf("error leaks a secret: %v", err)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				var warnings []string
				for _, w := range cfg.Warnings {
					if strings.Contains(w, secretMarker) {
						t.Errorf("warning leaks a secret: %s", w)
					}
					warnings = append(warnings, w)
				}
				switch {
				case tt.warning == "" && len(warnings) > 0:
					t.Errorf("warnings = %q, want none", warnings)
				case tt.warning != "" && (len(warnings) != 1 || !strings.HasPrefix(warnings[0], "atlas.yml:"+tt.warning)):
					t.Errorf("warnings = %q, want one starting with %q", warnings, "atlas.yml:"+tt.warning)
				}
				return
			}
			got := problems(err)
			if len(got) != 1 || !strings.HasPrefix(got[0], "atlas.yml:"+tt.want) {
				t.Fatalf("problems = %q\nwant one starting with %q", got, "atlas.yml:"+tt.want)
			}
		})
	}
}

func TestOAuthProviderNamesUniqueAcrossApps(t *testing.T) {
	second := `---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: other-app}
spec:
  signingSecrets: ['${{ WEBHOOK_SECRET }}']
  oauthProviders:
` + githubProvider
	yaml := oauthDoc + "  oauthProviders:\n" + githubProvider + second
	_, err := Parse("atlas.yml", []byte(yaml), oauthOptions())
	want := fmt.Sprintf(`atlas.yml:33: StripeApp "other-app": OAuth provider name "github" is already used by StripeApp "my-app" (at atlas.yml:18)`)
	got := problems(err)
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Fatalf("problems = %q\nwant one starting with %q", got, want)
	}
}

// A StripeApp that only declares OAuth providers is served by the broker,
// so it is not reported as unused.
func TestOAuthOnlyAppIsUsed(t *testing.T) {
	yaml := atlasHead + `---
apiVersion: atlas/v1alpha1
kind: StripeApp
metadata: {name: oauth-only}
spec:
  signingSecrets: ['${{ STRIPE_APP_SECRET }}']
  oauthProviders:
` + githubProvider
	cfg, err := Parse("atlas.yml", []byte(yaml), oauthOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", cfg.Warnings)
	}
	if len(cfg.StripeApps) != 1 || len(cfg.StripeApps[0].OAuthProviders) != 1 {
		t.Errorf("StripeApps = %+v", cfg.StripeApps)
	}
}
