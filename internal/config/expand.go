package config

import (
	"fmt"
	"strings"
)

// expand replaces every ${{ NAME }} in s with the value lookup returns.
// Values are inserted verbatim and never re-expanded. It returns one error
// per bad reference; errors name variables, never their values.
func expand(s string, lookup LookupEnv) (string, []error) {
	if !strings.Contains(s, "${{") {
		return s, nil
	}
	var b strings.Builder
	var errs []error
	rest := s
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+len("${{"):]
		j := strings.Index(rest, "}}")
		if j < 0 {
			errs = append(errs, fmt.Errorf(`"${{" is not closed by "}}"; write references as ${{ NAME }}`))
			break
		}
		name := strings.TrimSpace(rest[:j])
		rest = rest[j+len("}}"):]
		if !validRefName(name) {
			errs = append(errs, fmt.Errorf("reference %s does not name a valid environment variable; use letters, digits and _ (not starting with a digit)", printable("${{ "+name+" }}")))
			continue
		}
		v, ok := lookup(name)
		if !ok {
			errs = append(errs, &unsetVarError{name})
			continue
		}
		b.WriteString(v)
	}
	return b.String(), errs
}

// unsetVarError is expand's error for a reference to an unset variable;
// callers with a better hint (signing secrets) recognise it with errors.As.
type unsetVarError struct{ name string }

func (e *unsetVarError) Error() string {
	if s, ok := strings.CutPrefix(e.name, secretRefPrefix); ok {
		return fmt.Sprintf("stored secret %s does not exist; create it with `mom atlas secrets set %s` (the value is read from stdin) or fix the name", s, s)
	}
	return fmt.Sprintf("environment variable %s is not set; export it where Atlas runs (export %s=…) or fix the name", e.name, e.name)
}

// SecretRefs returns the stored secrets text refers to with
// ${{ secret:NAME }} (spaced in any way the configuration accepts), in order.
func SecretRefs(text string) []string {
	var out []string
	for _, name := range refNames(text) {
		if s, ok := strings.CutPrefix(name, secretRefPrefix); ok {
			out = append(out, s)
		}
	}
	return out
}

// refNames returns the variable names s refers to with ${{ NAME }}, in order.
func refNames(s string) []string {
	var names []string
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			return names
		}
		s = s[i+len("${{"):]
		j := strings.Index(s, "}}")
		if j < 0 {
			return names
		}
		if name := strings.TrimSpace(s[:j]); validRefName(name) {
			names = append(names, name)
		}
		s = s[j+len("}}"):]
	}
}

// validRefName accepts an environment variable name or secret:NAME.
func validRefName(name string) bool {
	if s, ok := strings.CutPrefix(name, secretRefPrefix); ok {
		return validEnvName(s)
	}
	return validEnvName(name)
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// printable shortens and quotes a piece of the file for a message.
func printable(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// word prints an identifier-like string as is and anything else quoted.
func word(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/' || c == '-') {
			return printable(s)
		}
	}
	if s == "" {
		return printable(s)
	}
	return s
}
