package store

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalid is returned (wrapped) for a name or value the store refuses;
// the admin API maps it to InvalidArgument.
var ErrInvalid = errors.New("invalid")

// The same rules as the config file's adapter names (internal/config), so an
// adapter moves between the file and the API unchanged.
var adapterNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)

// MaxAdapterName keeps names usable in Envoy cluster and stat names.
const MaxAdapterName = 63

// Secret names are environment-variable-like, as referenced by
// ${{ secret:NAME }}.
var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// MaxSecretSize bounds a secret value: credentials and keys, not files.
const MaxSecretSize = 64 << 10

// ValidateAdapterName reports whether name can name a stored adapter.
func ValidateAdapterName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w adapter name: it is empty", ErrInvalid)
	case len(name) > MaxAdapterName:
		return fmt.Errorf("%w adapter name: it is %d characters long; use at most %d", ErrInvalid, len(name), MaxAdapterName)
	case !adapterNameRE.MatchString(name):
		return fmt.Errorf("%w adapter name %q: use lowercase letters, digits, '-', '.' and '_', starting and ending with a letter or digit (pattern [a-z0-9]([-a-z0-9._]*[a-z0-9])?)", ErrInvalid, name)
	}
	return nil
}

// ValidateSecretName reports whether name can name a secret.
func ValidateSecretName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w secret name: it is empty", ErrInvalid)
	case !secretNameRE.MatchString(name):
		return fmt.Errorf("%w secret name %q: use letters, digits and '_', not starting with a digit, at most 128 characters (pattern [A-Za-z_][A-Za-z0-9_]{0,127})", ErrInvalid, name)
	}
	return nil
}

func validateAdapter(a Adapter) error {
	if err := ValidateAdapterName(a.Name); err != nil {
		return err
	}
	if len(a.Document) == 0 {
		return fmt.Errorf("%w adapter %s: the document is empty", ErrInvalid, a.Name)
	}
	return nil
}

// validateSecret never puts the value in its error.
func validateSecret(name string, value []byte) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	switch {
	case len(value) == 0:
		return fmt.Errorf("%w secret %s: the value is empty; a secret needs a value", ErrInvalid, name)
	case len(value) > MaxSecretSize:
		return fmt.Errorf("%w secret %s: the value is %d bytes; the limit is %d", ErrInvalid, name, len(value), MaxSecretSize)
	}
	return nil
}

func notFound(kind, name string) error {
	return fmt.Errorf("%s %s: %w", kind, name, ErrNotFound)
}
