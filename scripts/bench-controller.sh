#!/usr/bin/env bash
# make bench-controller (part of `make bench`): the controller at scale on a private local control plane.
#
# 12 key Secrets (RSA-4096) and 1,000 SealedSecrets of 3 values each, every object sealed with a random older key
# (with the key hint, as our kubeseal writes it); then the controller (release build, default flags, leader
# election on) is started cold and restarted, and each run reports the time until every SealedSecret is Synced
# (resp. reconciled again), RSA operations per value and peak RSS; plus the cost of one RSA decryption measured
# in the same run. See BENCHMARKS.md ("Controller at scale"). Not a test: it never fails on the numbers.
#   BENCH_OBJECTS=1000 BENCH_VALUES=3 BENCH_KEYS=12 BENCH_KEY_SIZE=4096
# Results: target/bench/controller-scale.txt (controller logs beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
OUT=target/bench
mkdir -p "$OUT"
log() { echo "bench-controller: $*" >&2; }

scripts/ensure-tools.sh
scripts/setup-testbin.sh >/dev/null
"$CARGO" build --release -p sealed-secrets-controller --bin sealed-secrets-controller --example bench_scale

dir=""
cleanup() {
  local rc=$?
  [ -z "$dir" ] || scripts/cluster.sh down "$dir" || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$(scripts/cluster.sh up | tail -n 1)
eval "$(scripts/cluster.sh env "$dir")"
kubectl apply -f controller-manifests/crd.yaml >/dev/null
kubectl wait --for=condition=Established crd/sealedsecrets.bitnami.com --timeout=60s >/dev/null

log "control plane up; running (this takes a few minutes)"
target/release/examples/bench_scale \
  --kubeconfig "$KUBECONFIG" \
  --controller target/release/sealed-secrets-controller \
  --objects "${BENCH_OBJECTS:-1000}" --values "${BENCH_VALUES:-3}" \
  --keys "${BENCH_KEYS:-12}" --key-size "${BENCH_KEY_SIZE:-4096}" \
  --log-dir "$OUT" --cluster-dir "$dir" | tee "$OUT/controller-scale.txt"
