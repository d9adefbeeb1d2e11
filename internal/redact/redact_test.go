package redact

import "testing"

func TestRedactor(t *testing.T) {
	var x Redactor
	if got := x.String("authorization: Bearer sk_test_abcdef"); got != "authorization: Bearer sk_test_abcdef" {
		t.Fatalf("zero Redactor changed the text: %q", got)
	}
	x.Set([]string{"Bearer sk_test_abcdef", "sk_test_abcdef", "dd-key-1234", "abc"})
	for in, want := range map[string]string{
		"authorization: Bearer sk_test_abcdef": "authorization: [REDACTED]",
		"key=sk_test_abcdef&x=1":               "key=[REDACTED]&x=1",
		"dd-api-key: dd-key-1234, abc":         "dd-api-key: [REDACTED], abc",
	} {
		if got := x.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	x.Set(nil)
	if got := x.String("sk_test_abcdef"); got != "sk_test_abcdef" {
		t.Errorf("after Set(nil) got %q", got)
	}
}
