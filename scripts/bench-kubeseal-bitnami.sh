#!/usr/bin/env bash
# make bench (part of it): our kubeseal next to Bitnami's kubeseal v0.36.6, whole processes, `--cert cert.pem`.
#
#   1. one Secret, one process: wall time and peak RSS of BENCH_CLI_RUNS runs of each, interleaved (ours, Bitnami,
#      Bitnami, ours, ...), medians;
#   2. 1,000 Secrets: ours seals them as ONE multi-document YAML stream in one process; Bitnami's kubeseal as
#      1,000 runs of one Secret each (each on its own Secret file: the usual one-Secret-per-invocation use), and
#      also as one stream in one process (v0.36.6 accepts a multi-document stream too: the like-for-like
#      comparison); BENCH_STREAM_REPEATS repeats, interleaved, medians.
# Wall time: monotonic clock around fork+exec+wait; peak RSS: ru_maxrss of the child from wait4() (what
# `/usr/bin/time -f %M` prints). Also records the machine's load and the CPU time of other processes meanwhile.
# Targets: ours <= 1/5 of Bitnami's time for one Secret, <= 1/50 of Bitnami's 1,000 runs for the 1,000 Secrets.
# Not a test: it never fails on the numbers.
#   BENCH_CLI_RUNS=51  BENCH_STREAM_REPEATS=3  BENCH_STREAM_SECRETS=1000
# Results: target/bench/kubeseal-vs-bitnami.txt (summary with ratios and verdicts).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
OUT=target/bench
mkdir -p "$OUT"
CERT=examples/cert.pem
[ -f "$CERT" ] || { echo "bench-kubeseal-bitnami: missing $CERT" >&2; exit 1; }

bitnami="$(scripts/setup-testbin.sh --print-dir 2>/dev/null || true)/bitnami-kubeseal"
if [ ! -x "$bitnami" ]; then
  echo "(Bitnami kubeseal not built: run scripts/setup-testbin.sh to compare side by side)" | tee "$OUT/kubeseal-vs-bitnami.txt"
  exit 0
fi
# Our release build with the default features (bench.sh also builds other feature sets into target/release).
echo "== kubeseal vs Bitnami: building ours (release, default features) ==" >&2
"$CARGO" build --release -p kubeseal >&2
cp target/release/kubeseal "$OUT/kubeseal-vs-bitnami-ours"

python3 - "$OUT/kubeseal-vs-bitnami-ours" "$bitnami" "$CERT" \
  "${BENCH_CLI_RUNS:-51}" "${BENCH_STREAM_REPEATS:-3}" "${BENCH_STREAM_SECRETS:-1000}" <<'EOF' | tee "$OUT/kubeseal-vs-bitnami.txt"
import os, resource, statistics, sys, tempfile, time

ours, bitnami, cert, runs, repeats, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
work = tempfile.mkdtemp()
SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench-{i}\n  namespace: default\ntype: Opaque\n"
          "stringData:\n  password: correct-horse-battery-staple-{i}\n")
one = os.path.join(work, "one.yaml")
with open(one, "w") as f:
    f.write(SECRET.format(i=0))
files = []
with open(os.path.join(work, "stream.yaml"), "w") as s:
    for i in range(1, n + 1):
        s.write("---\n" + SECRET.format(i=i))
        p = os.path.join(work, f"s{i}.yaml")
        with open(p, "w") as f:
            f.write(SECRET.format(i=i))
        files.append(p)
stream = os.path.join(work, "stream.yaml")
devnull = os.open(os.devnull, os.O_WRONLY)
CLK = os.sysconf("SC_CLK_TCK")

def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[i] for i in (0, 1, 2, 5, 6, 7)) / CLK

def run(binary, path, out=devnull):
    """One process: (wall seconds, peak RSS KiB)."""
    t = time.perf_counter_ns()
    pid = os.posix_spawn(binary, [binary, "--cert", cert, "-f", path],
                         os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, out, 1)])
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t) / 1e9
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{binary} --cert {cert} -f {path} failed ({status})")
    return wall, ru.ru_maxrss

def count_sealed(binary, path):
    p = os.path.join(work, "out")
    with open(p, "w") as f:
        run(binary, path, f.fileno())
    text = open(p).read()
    return text.count('"kind": "SealedSecret"') + text.count("kind: SealedSecret")

load_before = open("/proc/loadavg").read().split()[:3]
busy0 = machine_busy()
c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t_all = time.perf_counter()

# Sanity: both produce SealedSecrets; ours seals the whole stream.
sanity_ours, sanity_bitnami, sanity_stream = count_sealed(ours, one), count_sealed(bitnami, one), count_sealed(ours, stream)
sanity_bitnami_stream = count_sealed(bitnami, stream)

# Warm-up (page cache), then one Secret, interleaved, alternating who goes first.
for _ in range(3):
    run(ours, one); run(bitnami, one)
one_ours, one_bitnami = [], []
for i in range(runs):
    order = [(ours, one_ours), (bitnami, one_bitnami)]
    if i % 2:
        order.reverse()
    for b, acc in order:
        acc.append(run(b, one))

# 1,000 Secrets: ours one stream, one process; Bitnami one process per Secret.
stream_ours, stream_bitnami, stream_bitnami_one = [], [], []
for r in range(repeats):
    a = run(ours, stream)
    stream_bitnami_one.append(run(bitnami, stream))
    t = time.perf_counter_ns(); peak = 0
    for p in files:
        _, rss = run(bitnami, p)
        peak = max(peak, rss)
    b = ((time.perf_counter_ns() - t) / 1e9, peak)
    if r % 2:
        stream_bitnami.append(b); stream_ours.append(a)
    else:
        stream_ours.append(a); stream_bitnami.append(b)

wall_all = time.perf_counter() - t_all
c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
own_cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
other_cpu = max(0.0, machine_busy() - busy0 - own_cpu)
load_after = open("/proc/loadavg").read().split()[:3]

med = lambda xs, i: statistics.median(x[i] for x in xs)
o1, b1 = med(one_ours, 0) * 1e3, med(one_bitnami, 0) * 1e3
o1r, b1r = med(one_ours, 1) / 1024, med(one_bitnami, 1) / 1024
os_, bs = med(stream_ours, 0) * 1e3, med(stream_bitnami, 0) * 1e3
osr, bsr = med(stream_ours, 1) / 1024, med(stream_bitnami, 1) / 1024
bso, bsor = med(stream_bitnami_one, 0) * 1e3, med(stream_bitnami_one, 1) / 1024
verdict = lambda ratio, target: "met" if ratio >= target else "MISSED"
ours_v = os.popen(f"{ours} --version 2>&1").read().strip().replace("\n", " ")
bit_v = os.popen(f"{bitnami} --version 2>&1").read().strip().replace("\n", " ")

print("== kubeseal vs Bitnami (whole processes, --cert, one run of the benchmark) ==")
print(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
print(f"ours: {ours} ({ours_v}); Bitnami: {bitnami} ({bit_v})")
print(f"sanity: one Secret -> {sanity_ours} (ours) / {sanity_bitnami} (Bitnami) SealedSecret; "
      f"stream of {n} -> {sanity_stream} (ours) / {sanity_bitnami_stream} (Bitnami)")
print(f"machine: {os.cpu_count()} CPUs; load average before {'/'.join(load_before)}, after {'/'.join(load_after)}; "
      f"other processes used {other_cpu:.1f} CPU-s during the {wall_all:.1f} s of this benchmark")
print()
print(f"one Secret, one process (median of {runs} interleaved runs each):")
print(f"  wall time   ours {o1:8.2f} ms   Bitnami {b1:8.2f} ms   Bitnami/ours {b1 / o1:6.2f}x")
print(f"  peak RSS    ours {o1r:8.1f} MiB  Bitnami {b1r:8.1f} MiB  Bitnami/ours {b1r / o1r:6.2f}x")
print(f"  (ours min/max {min(x[0] for x in one_ours) * 1e3:.2f}/{max(x[0] for x in one_ours) * 1e3:.2f} ms; "
      f"Bitnami min/max {min(x[0] for x in one_bitnami) * 1e3:.2f}/{max(x[0] for x in one_bitnami) * 1e3:.2f} ms)")
print(f"{n} Secrets (median of {repeats}): ours one stream in one process, Bitnami {n} processes:")
print(f"  wall time   ours {os_:8.1f} ms   Bitnami {bs:8.1f} ms   Bitnami/ours {bs / os_:6.1f}x")
print(f"  peak RSS    ours {osr:8.1f} MiB  Bitnami {bsr:8.1f} MiB (largest of its {n} processes)")
print(f"{n} Secrets as one stream in one process, both (median of {repeats}):")
print(f"  wall time   ours {os_:8.1f} ms   Bitnami {bso:8.1f} ms   Bitnami/ours {bso / os_:6.1f}x")
print(f"  peak RSS    ours {osr:8.1f} MiB  Bitnami {bsor:8.1f} MiB  Bitnami/ours {bsor / osr:6.2f}x")
print()
print("targets:")
print(f"  one Secret: ours <= 1/5 of Bitnami's wall time: ratio {b1 / o1:.2f}x (need >= 5x): {verdict(b1 / o1, 5)}")
print(f"  {n} Secrets: ours (one stream) <= 1/50 of Bitnami's {n} runs: ratio {bs / os_:.1f}x (need >= 50x): {verdict(bs / os_, 50)}")
print(f"  (like for like, both one stream in one process: {bso / os_:.1f}x; not a stated target)")
print()
print(f"raw: one_ours_ms={o1:.3f} one_bitnami_ms={b1:.3f} one_ours_rss_mib={o1r:.1f} one_bitnami_rss_mib={b1r:.1f} "
      f"stream_ours_ms={os_:.1f} stream_bitnami_ms={bs:.1f} stream_bitnami_one_process_ms={bso:.1f} stream_ours_rss_mib={osr:.1f} stream_bitnami_rss_mib={bsr:.1f} "
      f"other_cpu_s={other_cpu:.1f} wall_s={wall_all:.1f}")
EOF
