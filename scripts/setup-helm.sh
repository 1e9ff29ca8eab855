#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, the version below) from Go modules into a cache outside the repo (never committed),
# for the chart tests (scripts/test-chart.sh). Idempotent: an existing binary is not rebuilt.
# Prints the binary's path on stdout (last line); progress goes to stderr.
#   scripts/setup-helm.sh               build it if missing
#   scripts/setup-helm.sh --print-path  only print where it is (or will be)
# Cache: ${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}/helm/<version>/helm.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-4.3.2}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=$CACHE/helm/v$HELM_VERSION
BIN=$OUT/helm
if [ "${1:-}" = "--print-path" ]; then echo "$BIN"; exit 0; fi

log() { echo "setup-helm: $*" >&2; }

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
