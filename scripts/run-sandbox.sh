#!/usr/bin/env bash
# Starts stripe-mock (the local Stripe sandbox) and Atlas with the sandbox
# config; Ctrl-C stops both. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${STRIPE_MOCK_BIN:?run through make run, which installs stripe-mock}"
: "${STRIPE_MOCK_PORT:=12111}"
CONFIG=${ATLAS_CONFIG:-examples/sandbox/atlas.yml}
# stripe-mock accepts any key shaped sk_test_…; Atlas injects it, the caller never sees it.
export STRIPE_API_KEY=${STRIPE_API_KEY:-sk_test_AtlasSandbox4242}

if (exec 3<>/dev/tcp/127.0.0.1/$STRIPE_MOCK_PORT) 2>/dev/null; then
  echo "stripe-mock: something already listens on 127.0.0.1:$STRIPE_MOCK_PORT, using it"
else
  "$STRIPE_MOCK_BIN" -http-addr 127.0.0.1:$STRIPE_MOCK_PORT -https-addr 127.0.0.1:$((STRIPE_MOCK_PORT+1)) >/tmp/atlas-stripe-mock.log 2>&1 &
  mock=$!
  trap 'kill $mock 2>/dev/null || true' EXIT
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$STRIPE_MOCK_PORT) 2>/dev/null && break; sleep 0.1; done
  echo "stripe-mock: listening on 127.0.0.1:$STRIPE_MOCK_PORT (log: /tmp/atlas-stripe-mock.log)"
fi

cat <<MSG

Atlas is starting with $CONFIG (Ctrl-C stops it). In another terminal, try:

  bin/mom curl /v1/apis/http/stripe/v1/charges

MSG
bin/atlas run -f "$CONFIG" --log-format text "$@"
