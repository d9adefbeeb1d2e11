package admin

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

func TestSecretLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.secretsClient()
	at := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

	t.Run("set creates", func(t *testing.T) {
		resp, err := c.SetSecret(ctx, &adminv1.SetSecretRequest{Name: "STRIPE_KEY", Value: []byte(stripeKeyValue)})
		if err != nil {
			t.Fatal(err)
		}
		diffProto(t, resp, &adminv1.SetSecretResponse{Created: true, Secret: &adminv1.SecretMetadata{
			Name: "STRIPE_KEY", SizeBytes: int64(len(stripeKeyValue)), CreateTime: at, UpdateTime: at}})
	})
	t.Run("set replaces", func(t *testing.T) {
		resp, err := c.SetSecret(ctx, &adminv1.SetSecretRequest{Name: "STRIPE_KEY", Value: []byte(stripeKeyValue + "2")})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCreated() || resp.GetSecret().GetSizeBytes() != int64(len(stripeKeyValue))+1 {
			t.Errorf("response = %v", resp)
		}
	})
	t.Run("list", func(t *testing.T) {
		resp, err := c.ListSecrets(ctx, &adminv1.ListSecretsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		diffProto(t, resp, &adminv1.ListSecretsResponse{Secrets: []*adminv1.SecretMetadata{
			{Name: "FILE_KEY", SizeBytes: int64(len(fileKeyValue)), CreateTime: at, UpdateTime: at},
			{Name: "STRIPE_KEY", SizeBytes: int64(len(stripeKeyValue)) + 1, CreateTime: at, UpdateTime: at},
		}})
	})
	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeleteSecret(ctx, &adminv1.DeleteSecretRequest{Name: "STRIPE_KEY"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.DeleteSecret(ctx, &adminv1.DeleteSecretRequest{Name: "STRIPE_KEY"})
		wantStatus(t, err, codes.NotFound, "secret STRIPE_KEY does not exist")
	})
	e.secrets = append(e.secrets, stripeKeyValue+"2")
	if logs := e.logs.String(); !strings.Contains(logs, "secret set") || !strings.Contains(logs, "secret deleted") {
		t.Errorf("changes are not logged:\n%s", logs)
	}
}

func TestSetSecretInvalid(t *testing.T) {
	e := newEnv(t)
	c := e.secretsClient()
	const leaky = "sk_live_LEAKY_value"
	e.secrets = append(e.secrets, leaky)
	tests := []struct {
		name, secret string
		value        []byte
		want         [][2]string
	}{
		{"empty name", "", []byte("v"), [][2]string{{"name", "is empty"}}},
		{"name starts with a digit", "1KEY", []byte("v"), [][2]string{{"name", "not allowed at offset 0"}}},
		{"name with a dash", "MY-KEY", []byte("v"), [][2]string{{"name", "not allowed at offset 2"}}},
		{"value pasted as name", leaky + "=x", []byte("v"), [][2]string{{"name", "not allowed at offset"}}},
		{"name too long", strings.Repeat("K", 129), []byte("v"), [][2]string{{"name", "use at most 128"}}},
		{"empty value", "K", nil, [][2]string{{"value", "is empty"}}},
		{"trailing newline", "K", []byte(leaky + "\n"), [][2]string{{"value", "CR, LF or NUL byte at offset 19"}}},
		{"NUL", "K", []byte(leaky + "\x00"), [][2]string{{"value", "CR, LF or NUL"}}},
		{"control character", "K", []byte(leaky + "\x1b"), [][2]string{{"value", "control character"}}},
		{"too long", "K", []byte(strings.Repeat("v", 8<<10+1)), [][2]string{{"value", "at most 8192 bytes"}}},
		{"both wrong", "", []byte(leaky + "\r"), [][2]string{{"name", "is empty"}, {"value", "CR, LF or NUL"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SetSecret(t.Context(), &adminv1.SetSecretRequest{Name: tt.secret, Value: tt.value})
			wantViolations(t, err, tt.want...)
		})
	}
	t.Run("tab is allowed", func(t *testing.T) {
		if _, err := c.SetSecret(t.Context(), &adminv1.SetSecretRequest{Name: "K", Value: []byte("a\tb")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteSecretInvalid(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.secretsClient().SetSecret(ctx, &adminv1.SetSecretRequest{Name: "STRIPE_KEY", Value: []byte(stripeKeyValue)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stripe", "stripe-eu"} {
		a := stripeAdapter()
		a.Name = name
		a.Headers[0].ValueTemplate = "Bearer ${{secret:STRIPE_KEY   }}" // any spacing counts
		if _, err := e.adapters().ApplyAdapter(ctx, &adminv1.ApplyAdapterRequest{Adapter: a}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, secret string
		code         codes.Code
		parts        []string
	}{
		{"referenced by API adapters", "STRIPE_KEY", codes.FailedPrecondition, []string{`secret STRIPE_KEY is still referenced as ${{ secret:STRIPE_KEY }} by API adapter "stripe", API adapter "stripe-eu"`, "remove those references first"}},
		{"referenced by the file", "FILE_KEY", codes.FailedPrecondition, []string{`file adapter "filed" (atlas.yml:10)`}},
		{"unknown", "NOPE", codes.NotFound, []string{"secret NOPE does not exist", "mom atlas secrets list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.secretsClient().DeleteSecret(ctx, &adminv1.DeleteSecretRequest{Name: tt.secret})
			wantStatus(t, err, tt.code, tt.parts...)
		})
	}
	t.Run("bad name", func(t *testing.T) {
		_, err := e.secretsClient().DeleteSecret(ctx, &adminv1.DeleteSecretRequest{Name: "no such"})
		wantViolations(t, err, [2]string{"name", "not allowed at offset 2"})
	})
	t.Run("still stored", func(t *testing.T) {
		if _, err := e.store.GetSecret(ctx, "STRIPE_KEY"); err != nil {
			t.Errorf("a referenced secret was deleted: %v", err)
		}
	})
}

func TestRefersToSecret(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"Bearer ${{ secret:K }}", true},
		{"${{secret:K}}", true},
		{"${{ secret:KEY }}", false},
		{"${{ K }}", false},
		{"${{ secret:K", false},
		{"${{ secret:A }} ${{ secret:K }}", true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := refersToSecret(tt.text, "K"); got != tt.want {
				t.Errorf("refersToSecret(%q, K) = %v", tt.text, got)
			}
		})
	}
}
