#!/usr/bin/env bash
# Part of `make test-node`: a node that cannot start fails with the reason and the log tail, and leaves nothing
# behind (no process of its run, no network namespace or veth, no mount, sysctls as they were, no host path it
# created, the machine-wide node lock free); a second node while one runs is refused, naming the running one,
# without touching it.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "test-node-faults: $*" >&2; }
fail() { echo "test-node-faults: FAILED: $*" >&2; exit 1; }
CACHE=${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}

SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
snapshot() { # what must be the same before and after a failed start
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done
  ip netns list | grep -c '^ssrs-node' || true
  ip link show ssrsnodeh >/dev/null 2>&1 && echo "veth ssrsnodeh present"
  for p in /var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd; do [ -e "$p" ] && echo "$p"; done
  findmnt -rn -o TARGET | grep -c "$CACHE/run/" || true
  pgrep -f "$CACHE/run/.*/node/" | wc -l
  return 0
}
flock -n /run/lock/ssrs-node.lock true || fail "a node is already running on this machine"
before=$(snapshot)

# 1. The kubelet cannot start: the run fails with the reason and the kubelet's log, then is torn down completely.
out=$(mktemp)
if SSRS_NODE_KUBELET_ARGS=--no-such-flag scripts/cluster.sh up --node >"$out" 2>&1; then
  fail "cluster.sh up --node succeeded with a kubelet that cannot start"
fi
grep -q "the kubelet (/healthz): the process exited; last log lines:" "$out" || fail "no reason in: $(tail -n 20 "$out")"
grep -q "no-such-flag" "$out" || fail "the kubelet's log is not in the error: $(tail -n 20 "$out")"
after=$(snapshot)
[ "$before" = "$after" ] || fail "a failed node start left changes behind:"$'\n'"$(diff <(echo "$before") <(echo "$after"))"
flock -n /run/lock/ssrs-node.lock true || fail "the node lock is still held after the failed start"
log "a kubelet that cannot start: clear error with its log, nothing left behind"

# 2. The lock is taken: a second node is refused, naming the running one, and the running one keeps working.
dir=$(scripts/cluster.sh up --node | tail -n 1)
trap 'scripts/cluster.sh down "$dir" >/dev/null 2>&1 || true' EXIT
if scripts/cluster.sh up --node >"$out" 2>&1; then fail "a second node started while one was running"; fi
grep -q "another test node is running on this machine (run $dir)" "$out" || fail "no clear error: $(tail -n 5 "$out")"
eval "$(scripts/cluster.sh env "$dir")"
[ "$(kubectl get node ssrs-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] \
  || fail "the running node is no longer Ready"
scripts/cluster.sh down "$dir" >/dev/null 2>&1
trap - EXIT
after=$(snapshot)
[ "$before" = "$after" ] || fail "the node's teardown left changes behind:"$'\n'"$(diff <(echo "$before") <(echo "$after"))"
rm -f "$out"
log "the lock: a second node refused with the running one's name; teardown left nothing behind"
