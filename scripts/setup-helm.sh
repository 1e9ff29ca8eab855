#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, the version below) from Go modules into a cache outside the repo (never committed),
# for the chart tests (scripts/test-chart.sh). Idempotent: an existing binary is not rebuilt.
# Prints the binary's path on stdout (last line); progress goes to stderr.
#   scripts/setup-helm.sh               build it if missing
#   scripts/setup-helm.sh --print-path  only print where it is (or will be)
#   scripts/setup-helm.sh --bitnami-chart  prepare (once) Bitnami's chart 2.18.5 in the cache and print its directory:
#     copied from the Go module github.com/bitnami-labs/sealed-secrets@v0.36.6, which carries chart 2.18.4; 2.18.5
#     differs from it in exactly three lines (version, appVersion, image tag), which are edited and checked
# Cache: ${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}/helm/<version>/helm.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-4.3.2}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=$CACHE/helm/v$HELM_VERSION
BIN=$OUT/helm
if [ "${1:-}" = "--print-path" ]; then echo "$BIN"; exit 0; fi

log() { echo "setup-helm: $*" >&2; }
die() { log "error: $*"; exit 1; }

bitnami_chart() { # prints the directory of Bitnami's chart 2.18.5 (prepared once in the cache)
  local out=$CACHE/charts/bitnami-sealed-secrets-2.18.5
  if [ ! -f "$out/.complete" ]; then
    local mod tmp
    mod=$(GOTOOLCHAIN=local GOFLAGS= go mod download -json github.com/bitnami-labs/sealed-secrets@v0.36.6 \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    [ -f "$mod/helm/sealed-secrets/Chart.yaml" ] || die "no helm/sealed-secrets in $mod"
    tmp=$(mktemp -d "$CACHE/charts.XXXXXX")
    cp -r "$mod/helm/sealed-secrets" "$tmp/sealed-secrets"
    chmod -R u+w "$tmp/sealed-secrets" # the module cache is read-only
    # The module's chart is 2.18.4; 2.18.5 differs in exactly these three lines.
    sed -i 's/^version: 2\.18\.4$/version: 2.18.5/; s/^appVersion: 0\.36\.1$/appVersion: 0.36.6/' "$tmp/sealed-secrets/Chart.yaml"
    sed -i 's/^  tag: 0\.36\.1$/  tag: 0.36.6/' "$tmp/sealed-secrets/values.yaml"
    [ "$(grep -c '^version: 2\.18\.5$\|^appVersion: 0\.36\.6$' "$tmp/sealed-secrets/Chart.yaml")" = 2 ] \
      && grep -q '^  tag: 0\.36\.6$' "$tmp/sealed-secrets/values.yaml" \
      || die "Bitnami's chart in $mod is not the expected 2.18.4 (the edits to 2.18.5 did not apply)"
    [ "$(diff -r "$mod/helm/sealed-secrets" "$tmp/sealed-secrets" | grep -c '^[<>]')" = 6 ] \
      || die "editing Bitnami's chart to 2.18.5 changed more than three lines"
    mkdir -p "$(dirname "$out")"; rm -rf "$out"
    mv "$tmp/sealed-secrets" "$out" && rmdir "$tmp" && touch "$out/.complete"
  fi
  echo "$out"
}
if [ "${1:-}" = "--bitnami-chart" ]; then
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
  bitnami_chart
  exit 0
fi

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

# Go: the machine's toolchain; /usr/local/go/bin may be missing from a minimal PATH (e.g. CI).
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
command -v go >/dev/null 2>&1 || { log "error: Go is required to build Helm (Go >= 1.26)"; exit 1; }
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-trimpath
mkdir -p "$OUT"
if command -v flock >/dev/null 2>&1; then
  # One build at a time: a second run waits, then finds the binary present.
  exec 8>"$OUT/.build.lock"
  flock 8 || true
  if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
fi

log "building helm v$HELM_VERSION with $(go version) ..."
t0=$SECONDS
(
  # A throw-away consumer module that requires Helm at the exact version; its go.mod decides every dependency
  # (Helm's own go.mod has no replace directives, so the build is the one `go install` would make).
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  cd "$w"
  go mod init local.test/helm-testbin >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v4/cmd/helm"\n' >tools.go
  go mod edit -require="helm.sh/helm/v4@v$HELM_VERSION"
  go mod tidy >&2
  # The version Helm reports (`helm version`) is set at link time, as Helm's Makefile does.
  v=helm.sh/helm/v4/internal/version
  go build -ldflags "-s -w -X $v.version=v$HELM_VERSION -X $v.gitTreeState=clean" -o "$BIN.tmp" helm.sh/helm/v4/cmd/helm >&2
  mv "$BIN.tmp" "$BIN"
)
log "built helm v$HELM_VERSION in $((SECONDS - t0))s: $BIN"
echo "$BIN"
