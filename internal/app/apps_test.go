package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/atlas-gateway/atlas/internal/model"
)

func TestCheckAppsAddress(t *testing.T) {
	tests := []struct{ addr, wantErr string }{
		{"127.0.0.1:18001", ""},
		{"127.0.0.1:0", ""},
		{"[::1]:18001", ""},
		{"0.0.0.0:18001", "loopback"},
		{"10.0.0.5:18001", "loopback"},
		{"localhost:18001", "loopback IP address"},
		{"18001", "IP:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkAppsAddress(tt.addr)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkAppsAddress(%q) = %v, want an error mentioning %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}

// The app key is a secret: Envoy log lines forwarded by atlas redact it.
func TestSecretValuesIncludeAppKey(t *testing.T) {
	cfg := &model.Config{StripeApps: []model.StripeApp{{Name: "a", SigningSecrets: []string{"absec_x"}, AppKey: "appkey_must_be_redacted"}}}
	if got := secretValues(cfg); !slices.Contains(got, "appkey_must_be_redacted") {
		t.Errorf("secretValues = %q, want the app key", got)
	}
}
