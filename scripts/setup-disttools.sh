#!/usr/bin/env bash
# Builds (once) the release tools `make dist` uses into the cache, never into the repo:
#   cargo-cyclonedx   CycloneDX SBOMs of each binary, from Cargo's dependency graph (crates.io, cargo install --locked)
#   krew              kubectl's plugin manager, to install the kubeseal plugin from our own manifest and archive in
#                     the dist check (sigs.k8s.io/krew, built from Go modules)
# Idempotent; prints the tools directory on stdout (last line); progress on stderr.
#   scripts/setup-disttools.sh              build what is missing
#   scripts/setup-disttools.sh --print-dir  only print the directory
set -euo pipefail
CYCLONEDX_VERSION=${CYCLONEDX_VERSION:-0.5.9}
KREW_VERSION=${KREW_VERSION:-0.4.3}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=$CACHE/disttools/cyclonedx$CYCLONEDX_VERSION-krew$KREW_VERSION
if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi
log() { echo "setup-disttools: $*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$OUT"
exec 8>"$OUT/.build.lock"
flock 8

if ! [ -x "$OUT/cargo-cyclonedx" ]; then
  log "building cargo-cyclonedx $CYCLONEDX_VERSION (cargo install --locked) ..."
  t0=$SECONDS
  root=$(mktemp -d "$OUT/.cyclonedx.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  CARGO_TARGET_DIR="$root/target" cargo install -q --locked --root "$root" \
    cargo-cyclonedx --version "=$CYCLONEDX_VERSION" >&2 || die "cargo install cargo-cyclonedx failed"
  mv "$root/bin/cargo-cyclonedx" "$OUT/cargo-cyclonedx"
  rm -rf "$root"
  trap - EXIT
  log "built cargo-cyclonedx in $((SECONDS - t0))s"
fi

if ! [ -x "$OUT/krew" ]; then
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
  command -v go >/dev/null 2>&1 || die "Go is required to build krew"
  log "building krew $KREW_VERSION from Go modules ..."
  t0=$SECONDS
  GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-trimpath GOBIN="$OUT/.gobin" \
    go install "sigs.k8s.io/krew/cmd/krew@v$KREW_VERSION" >&2 || die "go install krew failed"
  mv "$OUT/.gobin/krew" "$OUT/krew"
  rm -rf "$OUT/.gobin"
  log "built krew in $((SECONDS - t0))s"
fi
echo "$OUT"
