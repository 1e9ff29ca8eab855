#!/usr/bin/env bash
# make bench-controller (part of `make bench`): the controller at scale on a private local control plane, side by
# side with Bitnami's controller v0.36.6 (from the test-binary cache) on the same control plane.
#
# 12 key Secrets (RSA-4096) and 1,000 SealedSecrets of 3 values each, every object sealed with a random older key
# (with the key hint, as our kubeseal writes it); each controller gets its own namespace holding the same keys and
# workload, and its own ServiceAccount (so the audit log counts its API requests). Each controller (release build,
# default flags; Bitnami with its default --kubeclient-qps 5 / --kubeclient-burst 10) is started cold and
# restarted; each run reports the time until every SealedSecret is Synced (resp. reconciled again), RSA
# operations, peak and steady RSS, CPU time and API requests; plus the cost of one RSA decryption measured in the
# same run (ours, and Go's for Bitnami). See BENCHMARKS.md ("Controller at scale", "Controller vs Bitnami").
# Not a test: it never fails on the numbers.
#   BENCH_OBJECTS=1000 BENCH_VALUES=3 BENCH_KEYS=12 BENCH_KEY_SIZE=4096
#   BENCH_BITNAMI=1        0: our controller only
#   BENCH_ISOLATED=1       0: no extra run of ours alone on CPU 0 (control plane on the other CPUs)
#   BENCH_BITNAMI_QPS=""   e.g. "50": an extra Bitnami run with --kubeclient-qps 50 --kubeclient-burst 100
#   BENCH_SETTLE=5         seconds after all-Synced before the steady RSS is read
#   BENCH_CONTROLLER=path  our controller binary (default: the release build); for comparing builds
# Results: target/bench/controller-scale.txt (raw key=value lines), target/bench/controller-vs-bitnami.txt
# (summary: ratios and target verdicts); controller logs beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
OUT=target/bench
mkdir -p "$OUT"
log() { echo "bench-controller: $*" >&2; }

scripts/ensure-tools.sh
testbin=$(scripts/setup-testbin.sh | tail -n 1)
"$CARGO" build --release -p sealed-secrets-controller --bin sealed-secrets-controller --example bench_scale

bitnami_args=()
go_rsa_ms=""
if [ "${BENCH_BITNAMI:-1}" = 1 ]; then
  if [ -x "$testbin/bitnami-controller" ]; then
    bitnami_args=(--bitnami-controller "$testbin/bitnami-controller")
    for q in ${BENCH_BITNAMI_QPS:-}; do bitnami_args+=(--bitnami-qps "$q"); done
    # One RSA-4096 OAEP decryption with Go's crypto/rsa (the toolchain that built bitnami-controller), on one core:
    # Bitnami's per-operation cost, for the estimate of its RSA work (it has no metric for it).
    go=$(command -v go || echo /usr/local/go/bin/go)
    if [ -x "$go" ]; then
      gotmp=$(mktemp -d)
      cat >"$gotmp/main.go" <<'EOF'
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"time"
)

func main() {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		panic(err)
	}
	label := []byte("bench-bitnami/bench-00000")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, make([]byte, 32), label)
	if err != nil {
		panic(err)
	}
	const rounds = 100
	t := time.Now()
	for i := 0; i < rounds; i++ {
		if _, err := rsa.DecryptOAEP(sha256.New(), rand.Reader, key, ct, label); err != nil {
			panic(err)
		}
	}
	fmt.Printf("go_rsa_decrypt_ms=%.3f\n", float64(time.Since(t).Microseconds())/1000/rounds)
}
EOF
      printf 'module benchrsa\n\ngo 1.26\n' >"$gotmp/go.mod"
      go_rsa_ms=$(cd "$gotmp" && GOTOOLCHAIN=local GOWORK=off GOFLAGS= "$go" run . 2>/dev/null | sed -n 's/^go_rsa_decrypt_ms=//p' || true)
      rm -rf "$gotmp"
      log "Go RSA-4096 OAEP decryption: ${go_rsa_ms:-?} ms ($("$go" version))"
    fi
  else
    log "no $testbin/bitnami-controller: our controller only"
  fi
fi

# Our controller alone on CPU 0, the control plane on the others (an extra run; needs 2+ CPUs and taskset).
isolated_args=()
if [ "${BENCH_ISOLATED:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  isolated_args=(--isolated)
fi

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

if [ ${#bitnami_args[@]} -gt 0 ]; then
  log "control plane up; running ours, then Bitnami's (its default client limit of 5 requests/s makes a full-size run take ~20 minutes)"
else
  log "control plane up; running (this takes a few minutes)"
fi
t0=$SECONDS
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
  [ -z "$go_rsa_ms" ] || echo "go_rsa_decrypt_ms=$go_rsa_ms"
  target/release/examples/bench_scale \
    --kubeconfig "$KUBECONFIG" \
    --controller "${BENCH_CONTROLLER:-target/release/sealed-secrets-controller}" \
    --objects "${BENCH_OBJECTS:-1000}" --values "${BENCH_VALUES:-3}" \
    --keys "${BENCH_KEYS:-12}" --key-size "${BENCH_KEY_SIZE:-4096}" \
    --settle-s "${BENCH_SETTLE:-5}" \
    --log-dir "$OUT" --cluster-dir "$dir" "${isolated_args[@]}" "${bitnami_args[@]}"
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /) bench_wall_s=$((SECONDS - t0))"
} | tee "$OUT/controller-scale.txt"

# Summary: ratios Bitnami/ours and the targets (ours <= 1/5 of Bitnami's cold start, <= 1/20 of its restart,
# steady RSS <= 1/3).
python3 - "$OUT/controller-scale.txt" <<'EOF' | tee "$OUT/controller-vs-bitnami.txt"
import sys
g, runs = {}, {}
for line in open(sys.argv[1]):
    kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
    if "controller" in kv and "run" in kv:
        runs[(kv["controller"], kv["run"])] = kv
    elif "controller" not in kv:
        g.update(kv)
f = lambda kv, k: float(kv[k]) if k in kv and kv[k] not in ("", "not_measurable", "none") else None
n_obj, n_val, n_keys = int(g.get("objects", 0)), float(g.get("values", 0)), int(g.get("keys", 0))
print("== Controller vs Bitnami (same control plane, same workload) ==")
print(f"date: {g.get('date', '?')}; machine: {g.get('cores', '?')} cores, {g.get('cpu', '?').replace('_', ' ')}; "
      f"load average before {g.get('load_before', '?')}, after {g.get('load_after', '?')}; benchmark {g.get('bench_wall_s', '?')} s")
print(f"workload: {n_obj} SealedSecrets x {g.get('values_per_object', '?')} values = {n_val:.0f} values, "
      f"{n_keys} RSA-{g.get('key_size', '?')} keys, each object sealed with a random older key")
print(f"one RSA-{g.get('key_size', '?')} OAEP decryption on one core: ours (aws-lc) {g.get('rsa_decrypt_ms', '?')} ms, "
      f"Go crypto/rsa (Bitnami) {g.get('go_rsa_decrypt_ms', 'not measured')} ms")
print()
hdr = f"{'controller':<16}{'run':<9}{'all Synced':>11}{'RSA ops':>16}{'peak RSS':>10}{'steady RSS':>11}{'ctl CPU':>9}{'plane CPU':>10}{'other CPU':>10}{'API reqs':>9}"
print(hdr)
for (c, r), kv in runs.items():
    rsa = kv.get("rsa_ops", "?")
    if rsa == "not_measurable":
        rsa = "n/m"
    else:
        rsa = f"{float(rsa):.0f} ({kv.get('rsa_ops_per_value')}/v)"
    print(f"{c:<16}{r:<9}{f(kv, 'synced_s'):>10.2f}s{rsa:>16}{f(kv, 'peak_rss_mib'):>7.1f}MiB{f(kv, 'steady_rss_mib'):>8.1f}MiB"
          f"{f(kv, 'controller_cpu_s'):>8.1f}s{f(kv, 'control_plane_cpu_s'):>9.1f}s{f(kv, 'other_cpu_s'):>9.1f}s{kv.get('api_requests', '?'):>9}")
print()
print("API requests between start and all-Synced (audit log, per verb and resource):")
for (c, r), kv in runs.items():
    print(f"  {c} {r}: {kv.get('api_requests', '?')} = {kv.get('api_by_request', '?')}"
          f" (until stop: {kv.get('api_requests_until_stop', '?')})")
print()
est = n_val * (n_keys + 1) / 2 if n_keys else None
go_ms = f(g, "go_rsa_decrypt_ms")
for (c, r), kv in runs.items():
    if c.startswith("bitnami"):
        line = (f"  {c} {r}: RSA operations not measurable (no metric); from its algorithm (every key tried in Go map "
                f"order until one fits) ~{(n_keys + 1) / 2:.1f} per value = ~{est:.0f}")
        if go_ms:
            line += (f" (= {est * go_ms / 1000:.0f} CPU-s at {go_ms} ms each); its CPU time {f(kv, 'controller_cpu_s'):.1f} s "
                     f"allows at most {f(kv, 'controller_cpu_s') * 1000 / go_ms:.0f}")
        print(line)
print()
print("targets (ratio = Bitnami / ours):")
def target(name, what, key, need):
    o, b = runs.get(("ours", what)), runs.get(("bitnami", what))
    if not o or not b:
        print(f"  {name}: not run")
        return
    ratio = f(b, key) / f(o, key)
    print(f"  {name}: ours {f(o, key):.2f}, Bitnami {f(b, key):.2f}: {ratio:.1f}x (need >= {need}x): "
          f"{'met' if ratio >= need else 'MISSED'}")
target("time to all Synced, cold start (s)", "cold", "synced_s", 5)
target("time to all Synced, restart (s)", "restart", "synced_s", 20)
target("steady RSS after cold start (MiB)", "cold", "steady_rss_mib", 3)
target("steady RSS after restart (MiB)", "restart", "steady_rss_mib", 3)
print()
print("our cold start against the ideal (values x one RSA decryption / the controller's cores; target <= 1.5x):")
for (c, r), kv in runs.items():
    if c.startswith("ours") and r == "cold" and "ideal_s" in kv:
        ratio = f(kv, "ratio_to_ideal")
        where = ("alone on 1 CPU, control plane on the other" if c == "ours-isolated"
                 else f"sharing {kv.get('controller_cores')} CPUs with the control plane")
        print(f"  {c} ({where}): {f(kv, 'synced_s'):.2f} s, ideal {f(kv, 'ideal_s'):.2f} s: {ratio:.2f}x: "
              f"{'met' if ratio <= 1.5 else 'MISSED'}")
for (c, r), kv in runs.items():
    if c.startswith("bitnami-qps") and ("ours", r) in runs:
        o = runs[("ours", r)]
        print(f"  (extra) {c} {r}: {f(kv, 'synced_s'):.2f} s = {f(kv, 'synced_s') / f(o, 'synced_s'):.1f}x ours")
EOF
