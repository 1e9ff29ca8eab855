#!/usr/bin/env bash
# `make test-e2e`: builds the test binaries if needed, starts a private control plane, runs the end-to-end tests
# against it with SSRS_REQUIRE_CLUSTER=1 (no silent skips), and always tears it down, also on failure or Ctrl-C.
# `make test-node` (`scripts/test-e2e.sh --node`): first the image (scripts/test-image.sh) and the node fault checks
# (scripts/test-node-faults.sh), then a control plane with a real node and the tests of tests/e2e/node, one at a
# time. `make test-gitops` (`--gitops`): Argo CD and Flux (scripts/setup-gitops.sh), the image, then a control plane
# with a real node (Flux installs our controller there as Pods) and the tests of tests/e2e/gitops, one at a time.
# Other arguments go to the test binary's filter (e.g. `scripts/test-e2e.sh smoke::rbac`).
# The exit code is the tests' exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
log() { echo "test-e2e: $*" >&2; }
node=0 gitops=0
if [ "${1:-}" = "--node" ]; then node=1; shift; fi
if [ "${1:-}" = "--gitops" ]; then gitops=1; shift; fi

t0=$SECONDS
scripts/ensure-tools.sh
SSRS_TESTBIN=$(scripts/setup-testbin.sh | tail -n 1)
export SSRS_TESTBIN
[ "$node" = 0 ] && [ "$gitops" = 0 ] || scripts/setup-nodebin.sh >/dev/null
if [ "$gitops" = 1 ]; then SSRS_GITOPS_DIR=$(scripts/setup-gitops.sh | tail -n 1); export SSRS_GITOPS_DIR; fi
t_testbin=$((SECONDS - t0))

# Compile first, so the control plane does not idle during a cold build; the tests run these binaries of the tree
# as it is (never a stale build).
t1=$SECONDS
"$CARGO" build -p sealed-secrets-controller --bin sealed-secrets-controller -p kubeseal --bin kubeseal
"$CARGO" test -p sealed-secrets-e2e --no-run
if [ "$node" = 1 ]; then
  SSRS_IMAGE=$(pwd)/$(scripts/test-image.sh | tail -n 1)
  # The chart's tests: Helm, Bitnami's chart 2.18.5 and Bitnami's binaries as an image (from the caches).
  SSRS_HELM=$(scripts/setup-helm.sh | tail -n 1)
  SSRS_BITNAMI_CHART=$(scripts/setup-helm.sh --bitnami-chart | tail -n 1)
  SSRS_BITNAMI_IMAGE=$(pwd)/$(scripts/image.sh --bitnami | tail -n 1)
  export SSRS_IMAGE SSRS_HELM SSRS_BITNAMI_CHART SSRS_BITNAMI_IMAGE
  # Faults first: a node that cannot start, a node lock already taken (each leaves nothing behind).
  scripts/test-node-faults.sh
elif [ "$gitops" = 1 ]; then
  # The Flux tests install the image's controller on the node (as test-node does, without the chart's images).
  SSRS_IMAGE=$(pwd)/$(scripts/test-image.sh | tail -n 1)
  export SSRS_IMAGE
fi
t_build=$((SECONDS - t1))

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

t2=$SECONDS
if [ "$node" = 1 ] || [ "$gitops" = 1 ]; then dir=$(scripts/cluster.sh up --node | tail -n 1); else dir=$(scripts/cluster.sh up | tail -n 1); fi
t_up=$((SECONDS - t2))
export SSRS_CLUSTER_DIR=$dir SSRS_REQUIRE_CLUSTER=1

t3=$SECONDS
rc=0
if [ "$node" = 1 ]; then
  # One at a time (they share the installation in kube-system); --nocapture: they print what they measured.
  "$CARGO" test -p sealed-secrets-e2e -- node:: --test-threads=1 --nocapture "$@" || rc=$?
elif [ "$gitops" = 1 ]; then
  # One at a time: each starts its own agent, which watches the whole cluster.
  "$CARGO" test -p sealed-secrets-e2e -- gitops:: --test-threads=1 --nocapture "$@" || rc=$?
else
  # The node tests need a control plane with a node (`make test-node`), the GitOps tests the agents
  # (`make test-gitops`).
  "$CARGO" test -p sealed-secrets-e2e -- --skip node:: --skip gitops:: "$@" || rc=$?
fi
log "timings: testbin ${t_testbin}s, build ${t_build}s, control plane up ${t_up}s, tests $((SECONDS - t3))s"
exit "$rc"
