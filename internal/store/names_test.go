package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNames(t *testing.T) {
	tests := []struct {
		name     string
		validate func(string) error
		in       string
		ok       bool
	}{
		{"adapter one char", ValidateAdapterName, "a", true},
		{"adapter all classes", ValidateAdapterName, "a0.b_c-d9", true},
		{"adapter max length", ValidateAdapterName, strings.Repeat("a", MaxAdapterName), true},
		{"adapter underscore end", ValidateAdapterName, "a_", false},
		{"adapter unicode", ValidateAdapterName, "café", false},
		{"adapter newline", ValidateAdapterName, "a\n", false},
		{"secret underscore", ValidateSecretName, "_", true},
		{"secret mixed case", ValidateSecretName, "Stripe_Key_2", true},
		{"secret max length", ValidateSecretName, "K" + strings.Repeat("k", 127), true},
		{"secret dot", ValidateSecretName, "a.b", false},
		{"secret newline", ValidateSecretName, "K\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.validate(tt.in)
			if tt.ok && err != nil {
				t.Errorf("%q: %v, want valid", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}
