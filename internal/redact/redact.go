// Package redact removes known secret values from text before it is logged.
//
// Atlas never formats a secret itself, but it forwards the managed Envoy's
// log lines, and Envoy at debug level prints request headers — including the
// credentials it just injected. A Redactor holds the current secret values
// (swapped atomically on every reload) and replaces each with "[REDACTED]".
package redact

import (
	"sort"
	"strings"
	"sync/atomic"
)

// Placeholder replaces every secret occurrence.
const Placeholder = "[REDACTED]"

// minLen skips values too short to be secrets on their own (they would
// redact ordinary words); real API keys are far longer.
const minLen = 6

// Redactor is safe for concurrent use; the zero value redacts nothing.
type Redactor struct {
	r atomic.Pointer[strings.Replacer]
}

// Set replaces the secret values to redact.
func (x *Redactor) Set(secrets []string) {
	uniq := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= minLen {
			uniq[s] = true
		}
	}
	vals := make([]string, 0, len(uniq))
	for s := range uniq {
		vals = append(vals, s)
	}
	// Longest first, so a secret that contains another is removed whole.
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Placeholder)
	}
	x.r.Store(strings.NewReplacer(pairs...))
}

// String returns s with every known secret replaced.
func (x *Redactor) String(s string) string {
	if r := x.r.Load(); r != nil {
		return r.Replace(s)
	}
	return s
}
