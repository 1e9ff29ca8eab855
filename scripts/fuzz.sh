#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60; `make fuzz` calls this).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Seeds each corpus (fuzz/corpus/<target>, git-ignored) from the committed test vectors and fixture
# keys. cargo-fuzz needs nightly compiler flags: the stable toolchain is used with RUSTC_BOOTSTRAP=1,
# with AddressSanitizer when it builds, else without a sanitizer. Exits non-zero on a crash; the
# input is then in fuzz/artifacts/<target>/: keep it as a regression test in
# crates/sealed-secrets/tests/vectors/fuzz/<target>/ (crates/go-template/tests/fuzz/ for `template`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
shift || true
export RUSTC_BOOTSTRAP=1

log() { echo "fuzz: $*" >&2; }

command -v cargo-fuzz >/dev/null || { log "installing cargo-fuzz"; cargo install cargo-fuzz --locked >&2; }

VECTORS=crates/sealed-secrets/tests/vectors
seed() {
  local t=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case $t in
    hybrid_decrypt)
      for f in "$VECTORS"/ok_*.txt "$VECTORS"/fail_*.txt; do
        grep -q '^key: test-only-rsa2048.pem$' "$f" || continue
        # First byte: the label selector of fuzz_targets/hybrid_decrypt.rs.
        case $(sed -n 's/^label: *//p; s/^label:$//p' "$f" | head -1) in
          default/db-creds) sel='\x00' ;; default) sel='\x01' ;; "") sel='\x02' ;; *) sel='\x03' ;;
        esac
        { printf "$sel"; sed '1,/^$/d' "$f" | tr -d ' \n' | base64 -d 2>/dev/null; } > "$dir/seed-$(basename "$f" .txt)" || true
      done ;;
    manifest)
      for f in examples/*.yaml examples/*.json crates/kubeseal/tests/cmd/*.in/* crates/kubeseal/tests/cmd/*.yaml; do
        [ -f "$f" ] && cp "$f" "$dir/seed-$(echo "$f" | tr / _)"
      done 2>/dev/null || true ;;
    template)
      # Every template of the differential tests (Go's outputs are their oracle), one per seed file.
      python3 - "$dir" crates/go-template/tests/cases/*.json <<'PY'
import json, sys, hashlib
out = sys.argv[1]
for path in sys.argv[2:]:
    cases = json.load(open(path))
    for case in (cases.get("cases", []) if isinstance(cases, dict) else cases):
        t = case.get("template") if isinstance(case, dict) else None
        if isinstance(t, str):
            name = hashlib.sha1(t.encode()).hexdigest()[:16]
            open(f"{out}/seed-{name}", "w").write(t)
PY
      ;;
    key_pem)
      for f in "$VECTORS"/keys/*.pem "$VECTORS"/certs/*.pem; do
        cp "$f" "$dir/seed-$(basename "$f")"
        sed '1d;$d' "$f" | base64 -d > "$dir/seed-$(basename "$f" .pem).der" 2>/dev/null || true
      done ;;
  esac
  local kept=$VECTORS/fuzz/$t
  if [ "$t" = template ]; then kept=crates/go-template/tests/fuzz; fi
  if [ -d "$kept" ]; then
    find "$kept" -type f ! -name '*.md' -exec cp {} "$dir/" \;
  fi
}

# The template target renders within a budget of 8 MiB of values: far more memory than that is a bug.
rss_limit() { if [ "$1" = template ]; then echo 1024; else echo 4096; fi; }

SANITIZER=address
if ! (cd fuzz && cargo fuzz build -O -s "$SANITIZER" >&2); then
  log "build with AddressSanitizer failed; building without a sanitizer"
  SANITIZER=none
  (cd fuzz && cargo fuzz build -O -s none >&2)
fi

if [ $# -gt 0 ]; then TARGETS=("$@"); else mapfile -t TARGETS < <(cd fuzz && cargo fuzz list); fi
for t in "${TARGETS[@]}"; do
  seed "$t"
  log "running $t for ${SECONDS_PER_TARGET}s (sanitizer: $SANITIZER)"
  (cd fuzz && cargo fuzz run -O -s "$SANITIZER" "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$(rss_limit "$t")" -timeout=10 -print_final_stats=1 >&2)
done
log "no crashes in ${TARGETS[*]}"
