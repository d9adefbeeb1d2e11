#!/usr/bin/env bash
# gen-check.sh fails when the committed gen/ is not exactly what proto/
# generates, so CI catches a proto edit without `make generate`.
#
# It generates into a temporary directory and compares, leaving the work tree
# untouched (other people may be editing it). Generation is deterministic: the
# plugins are pinned by the `tool` directives in go.mod and run as local
# plugins (buf.gen.yaml), so no network access to buf.build is needed.
#
# The commands the Makefile runs:
#   make generate:  go tool buf generate
#   make lint:      go tool buf lint
#                   go tool buf breaking --against '.git#branch=main'
#   staleness:      bash scripts/gen-check.sh
#
# About `buf breaking --against '.git#branch=main'`:
# - buf clones the local branch main and compares the work tree's protos with
#   it; it needs git and the local branch main (present in a clone of main).
# - It fails with `Module "path: "."" had no .proto files` while main has no
#   proto/ yet. That was only true before the first proto commit; a branch
#   cut from an older main would need `--against '.git#ref=<commit with proto/>'`.
# - On main itself it compares uncommitted changes with the last commit, so
#   it guards edits before they are committed. To check committed changes,
#   compare with an earlier commit or a release tag instead, for example
#   `--against '.git#ref=HEAD~1'` or `--against '.git#tag=v0.1.0'`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# -o prefixes buf.gen.yaml's `out: gen`, so this writes $tmp/gen; `clean: true`
# then only wipes $tmp/gen.
go tool buf generate -o "$tmp/out"

if ! diff -ru gen "$tmp/out/gen" >"$tmp/diff" 2>&1; then
	echo "gen/ is stale: run make generate" >&2
	echo "(difference between the committed gen/ and what proto/ generates:)" >&2
	head -n 60 "$tmp/diff" >&2
	exit 1
fi
echo "gen/ is up to date"
