#!/usr/bin/env bash
# `make test-node` (part of `make test`): the shipped image and manifests as real Pods. Builds the image and checks
# it (scripts/test-image.sh), starts a control plane with a real node (scripts/cluster.sh up --node), runs the
# end-to-end tests of tests/e2e/node against it one at a time, and always tears everything down (also on failure
# or Ctrl-C). Extra arguments go to the test binary (e.g. `scripts/test-node.sh failover`).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
log() { echo "test-node: $*" >&2; }

t0=$SECONDS
scripts/ensure-tools.sh
SSRS_TESTBIN=$(scripts/setup-testbin.sh | tail -n 1)
scripts/setup-nodebin.sh >/dev/null
export SSRS_TESTBIN
"$CARGO" build -p kubeseal --bin kubeseal
"$CARGO" test -p sealed-secrets-e2e --no-run
SSRS_IMAGE=$(pwd)/$(scripts/test-image.sh | tail -n 1)
export SSRS_IMAGE
t_build=$((SECONDS - t0))

dir=""
cleanup() {
  local rc=$?
  if [ -n "$dir" ]; then
    if [ "$rc" != 0 ]; then log "tests failed (exit $rc); logs: $dir/logs (removed now; SSRS_KEEP_CLUSTER_DIR=1 keeps them)"; fi
    scripts/cluster.sh down "$dir" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Faults first: a node that cannot start, a node lock already taken (each leaves nothing behind).
scripts/test-node-faults.sh

t1=$SECONDS
dir=$(scripts/cluster.sh up --node | tail -n 1)
t_up=$((SECONDS - t1))
export SSRS_CLUSTER_DIR=$dir SSRS_REQUIRE_CLUSTER=1

t2=$SECONDS
rc=0
# --nocapture: the tests print what they measured (handover times, memory peak, reads during rollouts).
"$CARGO" test -p sealed-secrets-e2e -- node:: --test-threads=1 --nocapture "$@" || rc=$?
log "timings: binaries and image ${t_build}s, control plane and node up ${t_up}s, tests $((SECONDS - t2))s"
exit "$rc"
