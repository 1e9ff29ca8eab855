#!/usr/bin/env bash
# make bench: performance report (not a test: it prints numbers and never fails on them).
#
# For each crypto backend (aws-lc, the default, and rust-crypto):
#   1. library throughput (crates/kubeseal/benches/crypto.rs): values sealed and unsealed per second,
#      against the raw RSA-4096 OAEP decryption of that backend's library (library overhead %);
#   2. whole-process wall time of `kubeseal --cert` (release build): one Secret, one 1,000-Secret
#      stream, and 1,000 separate runs of one Secret each (ratio separate/stream; target >= 50x).
# Bitnami's kubeseal is measured side by side when the test harness has built it (scripts/setup-testbin.sh).
# Results are printed and written to target/bench/*.txt.
#   BENCH_MILLIS=3000  time budget per library measurement
#   BENCH_RUNS=1000    number of Secrets in the stream / separate runs
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
RUNS=${BENCH_RUNS:-1000}
OUT=target/bench
mkdir -p "$OUT"
CERT=examples/cert.pem
[ -f "$CERT" ] || { echo "bench: missing $CERT" >&2; exit 1; }

now_ns() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

# Inputs: one Secret, and a stream of $RUNS Secrets.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
one="$work/one.yaml"
stream="$work/stream.yaml"
cat > "$one" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: bench
  namespace: default
type: Opaque
stringData:
  password: correct-horse-battery-staple
EOF
for i in $(seq 1 "$RUNS"); do
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bench-%d\n  namespace: default\ntype: Opaque\nstringData:\n  password: correct-horse-battery-staple-%d\n' "$i" "$i"
done > "$stream"

# process_bench NAME BINARY: prints the wall times of one Secret, the stream, and RUNS separate runs.
process_bench() {
  local name=$1 bin=$2 t0 t1 single stream_ns separate_ns best=0
  # one Secret: best of 20 (the first runs warm the page cache)
  for _ in $(seq 1 20); do
    t0=$(now_ns); "$bin" --cert "$CERT" -f "$one" > /dev/null; t1=$(now_ns)
    if [ "$best" = 0 ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
  done
  single=$best
  best=0
  for _ in 1 2 3; do
    t0=$(now_ns); "$bin" --cert "$CERT" -f "$stream" > /dev/null; t1=$(now_ns)
    if [ "$best" = 0 ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
  done
  stream_ns=$best
  t0=$(now_ns)
  for _ in $(seq 1 "$RUNS"); do "$bin" --cert "$CERT" -f "$one" > /dev/null; done
  t1=$(now_ns)
  separate_ns=$((t1 - t0))
  echo "process: $name"
  echo "  one Secret, one process:              $(ms "$single") ms"
  echo "  $RUNS Secrets in one stream:           $(ms "$stream_ns") ms"
  echo "  $RUNS separate runs of one Secret:     $(ms "$separate_ns") ms"
  awk -v a="$separate_ns" -v b="$stream_ns" -v n="$RUNS" \
    'BEGIN { printf "  one stream is %.1fx faster than %d separate runs (target >= 50x)\n", a / b, n }'
}

for backend in aws-lc rust-crypto; do
  if [ "$backend" = aws-lc ]; then features=(); else features=(--no-default-features --features rust-crypto); fi
  echo "== backend $backend: building (release) ==" >&2
  $CARGO build --release -p kubeseal "${features[@]}" >&2
  cp target/release/kubeseal "$OUT/kubeseal-$backend"
  {
    $CARGO bench -q -p kubeseal --bench crypto "${features[@]}" 2>/dev/null
    echo
    process_bench "kubeseal ($backend)" "$OUT/kubeseal-$backend"
  } | tee "$OUT/$backend.txt"
  echo
done

bitnami="$(scripts/setup-testbin.sh --print-dir 2>/dev/null || true)/bitnami-kubeseal"
if [ -x "$bitnami" ]; then
  process_bench "Bitnami kubeseal v0.36.6 (reference)" "$bitnami" | tee "$OUT/bitnami.txt"
else
  echo "(Bitnami kubeseal not built: run scripts/setup-testbin.sh to compare side by side)" | tee "$OUT/bitnami.txt"
fi
echo "results: $OUT/aws-lc.txt $OUT/rust-crypto.txt $OUT/bitnami.txt"
