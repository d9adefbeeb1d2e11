package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Row identifiers, in report order. Row (1) is the baseline for ratios.
const (
	rowPlain     = "plain"      // (1) plain Envoy, GET
	rowStatic    = "static"     // (2) Atlas, static injection
	rowExtproc   = "extproc"    // (3) Atlas, ext_proc injection
	rowSigGet    = "sig-get"    // (4) Atlas, signed GET (stripe-user header), ext_proc verifier
	rowSigPost   = "sig-post"   // (5) Atlas, signed POST (1 KB body), ext_proc verifier
	rowAuthzGet  = "authz-get"  // (6) as (4), ext_authz verifier
	rowAuthzPost = "authz-post" // (7) as (5), ext_authz verifier
	rowPlainPost = "plain-post" // (8) plain Envoy, the POST of (5) unsigned: opt-in
)

// allRows is every row in report order; its index+1 is the row number
// (`--rows 1,4,5` is the same as `--rows plain,sig-get,sig-post`).
var allRows = []string{rowPlain, rowStatic, rowExtproc, rowSigGet, rowSigPost, rowAuthzGet, rowAuthzPost, rowPlainPost}

// defaultRows run when --rows is not given: all but the opt-in (8), which
// only separates the cost of forwarding a 1 KB body from the cost of
// verifying it, and would push the default run past six minutes.
var defaultRows = allRows[:7]

// rowInfo says how a row is served and what it sends.
type rowInfo struct {
	title string
	// instance is the Atlas instance serving the row ("" for plain Envoy).
	instance string
	// signed rows send a Stripe-Signature made at the start of each run.
	signed bool
	// post rows send the 1 KB JSON body (signedBody) with POST.
	post bool
}

// Atlas instances. One process serves several rows: the ext_proc one has
// both the unsigned adapter of row (3) and the signed adapter of rows (4)
// and (5). Its listener is the same with or without a signed adapter (CORS
// and ext_proc are always in the chain), so row (3) measures what it did
// before signed rows existed, and shows that unsigned routes pay nothing for
// the signature feature.
const (
	instStatic   = "static"   // --injection=static
	instExtproc  = "extproc"  // --injection=extproc (--signature-filter=extproc, the default)
	instExtauthz = "extauthz" // --injection=extproc --signature-filter=extauthz
)

var instances = []string{instStatic, instExtproc, instExtauthz}

var rowInfos = map[string]rowInfo{
	rowPlain:     {title: "(1) plain Envoy"},
	rowStatic:    {title: "(2) Atlas static", instance: instStatic},
	rowExtproc:   {title: "(3) Atlas ext_proc", instance: instExtproc},
	rowSigGet:    {title: "(4) signed GET, ext_proc", instance: instExtproc, signed: true},
	rowSigPost:   {title: "(5) signed POST 1 KB, ext_proc", instance: instExtproc, signed: true, post: true},
	rowAuthzGet:  {title: "(6) signed GET, ext_authz", instance: instExtauthz, signed: true},
	rowAuthzPost: {title: "(7) signed POST 1 KB, ext_authz", instance: instExtauthz, signed: true, post: true},
	rowPlainPost: {title: "(8) plain Envoy POST 1 KB", post: true},
}

// parseRows reads --rows: names or numbers, comma-separated, in any order;
// "all" selects every row, the opt-in ones too. The result is in report
// order, without duplicates.
func parseRows(spec string) ([]string, error) {
	seen := map[string]bool{}
	for _, r := range strings.Split(spec, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "":
			continue
		case "all":
			for _, a := range allRows {
				seen[a] = true
			}
			continue
		}
		if n, err := strconv.Atoi(r); err == nil {
			if n < 1 || n > len(allRows) {
				return nil, fmt.Errorf("--rows: no row %d (rows are 1 to %d)", n, len(allRows))
			}
			r = allRows[n-1]
		}
		if _, ok := rowInfos[r]; !ok {
			return nil, fmt.Errorf("--rows: unknown row %q (want 1-%d, all, or one of %s)", r, len(allRows), strings.Join(allRows, ", "))
		}
		seen[r] = true
	}
	var out []string
	for _, r := range allRows {
		if seen[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

func rowsHelp() string {
	var b strings.Builder
	b.WriteString("rows to run: comma-separated numbers or names, or all:")
	for i, r := range allRows {
		fmt.Fprintf(&b, " %d=%s", i+1, r)
	}
	fmt.Fprintf(&b, " (%d is opt-in)", len(allRows))
	return b.String()
}

func rowTitle(r string) string {
	if ri, ok := rowInfos[r]; ok {
		return ri.title
	}
	return r
}

// rowsOf returns the selected rows served by Atlas instance inst.
func rowsOf(rows []string, inst string) []string {
	var out []string
	for _, r := range rows {
		if rowInfos[r].instance == inst {
			out = append(out, r)
		}
	}
	return out
}
