#!/usr/bin/env bash
# make test-dist: the release directory target/dist/ (written by make dist, which already ran scripts/check-dist.py
# on it before moving it into place) passes the check again, and the check catches what it must: for each planted
# fault, a copy of the directory with that one change must fail with a message naming the file.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST_OUT:-target/dist}
log() { echo "test-dist: $*" >&2; }
die() { echo "test-dist: FAILED: $*" >&2; exit 1; }
[ -f "$DIST/SHA256SUMS" ] || die "$DIST has no SHA256SUMS: run make dist first"
py=$(scripts/python-test-env.sh)
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
krew=$(scripts/setup-disttools.sh --print-dir)/krew
check() { "$py" scripts/check-dist.py "$1" --version "$version" "${@:2}"; }

check "$DIST" --krew "$krew" || die "$DIST does not pass scripts/check-dist.py"
log "ok: $DIST passes (SHA256SUMS, archives, SBOMs, chart, image, krew manifest; krew installs the plugin)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
expect_fail() { # NAME PATTERN EDIT...: copy the directory, apply EDIT in it, the check must fail printing PATTERN
  local name=$1 pattern=$2 d="$work/$n" out; shift 2; n=$((n + 1))
  cp -a "$DIST" "$d"
  (cd "$d" && eval "$*")
  if out=$(check "$d" 2>&1); then die "$name: the check passed"; fi
  grep -q -- "$pattern" <<<"$out" || die "$name: the check failed without saying '$pattern':"$'\n'"$out"
  log "ok: $name: caught ($(grep -m1 -- "$pattern" <<<"$out" | sed 's/^check-dist: //'))"
}
ks=kubeseal-$version-linux-amd64.tar.gz
# Rewrites SHA256SUMS after a planted change, so that only the check named in the case can catch it.
RESUM="find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS"
expect_fail "a changed kubeseal archive" "the digest of $ks does not match" "printf x >>$ks"
expect_fail "a changed SBOM" "the digest of kubeseal.cdx.json does not match" \
  "python3 -c 'import json; d=json.load(open(\"kubeseal.cdx.json\")); d[\"components\"].pop(); json.dump(d, open(\"kubeseal.cdx.json\",\"w\"))'"
expect_fail "an SBOM missing a crate (SHA256SUMS updated to match)" "does not list" \
  "python3 -c 'import json; d=json.load(open(\"kubeseal.cdx.json\")); d[\"components\"]=[c for c in d[\"components\"] if c[\"name\"]!=\"aws-lc-rs\"]; json.dump(d, open(\"kubeseal.cdx.json\",\"w\"))'" \
  "&& $RESUM"
expect_fail "a krew manifest with another sha256 (SHA256SUMS updated to match)" "is not the sha256 of $ks" \
  "sed -i 's/sha256: ./sha256: 0/' kubeseal.krew.yaml" \
  "&& $RESUM"
expect_fail "a file missing from SHA256SUMS" "SHA256SUMS does not list kubeseal.krew.yaml" \
  "sed -i '/kubeseal.krew.yaml/d' SHA256SUMS"
expect_fail "an extra file" "stray.txt is not a release artifact" "echo hi >stray.txt"
log "passed: $n planted faults caught"
