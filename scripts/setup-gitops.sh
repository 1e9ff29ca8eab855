#!/usr/bin/env bash
# Builds the GitOps agents for the GitOps tests (tests/e2e/gitops, `make test-gitops`) from Go modules into a cache
# outside the repo (never committed): Argo CD (one multi-call binary, linked as argocd-repo-server and
# argocd-application-controller), kustomize (the repo server runs it), Flux source-controller and kustomize-controller;
# and their CRDs; and our kstatus probe (tests/gitops/kstatus: the kstatus library kustomize-controller links, as a
# command). Installs redis-server (Debian) if missing. Idempotent: an existing build is not rebuilt (the probe is
# rebuilt when its source changes).
#   scripts/setup-gitops.sh              build what is missing; prints the cache directory (last line)
#   scripts/setup-gitops.sh --print-dir  only print the cache directory
# Layout of the cache directory (${SSRS_CACHE_DIR:-~/.cache/sealed-secrets-rs}/gitops):
#   bin/{argocd,argocd-repo-server,argocd-application-controller,git-verify-wrapper.sh,kustomize,
#        source-controller,kustomize-controller,kstatus}, crds/{argocd,flux}/*.yaml, build-times.txt (seconds per
#   tool), kstatus.src (the checksum of the probe's source the binary was built from).
# Argo CD is v3.2.x, the newest line that takes gitops-engine as a published module (github.com/argoproj/gitops-engine):
# from v3.3 on, its go.mod replaces a nested ./gitops-engine module that neither the module zip carries nor the Go
# proxy serves, so those releases cannot be built from Go modules alone. (v3.2.12's module zip does not compile:
# controller/cache calls a settings function the zip lacks.)
# Each tool is rebuilt when its pinned version changes (bin/.versions records what was built).
set -euo pipefail
ARGOCD_VERSION=${ARGOCD_VERSION:-3.2.11}
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-5.8.1}
FLUX_VERSION=${FLUX_VERSION:-1.9.6}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=$CACHE/gitops
BIN=$OUT/bin
if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi

log() { echo "setup-gitops: $*" >&2; }
die() { log "error: $*"; exit 1; }

KSTATUS_SRC=$(cd "$(dirname "$0")/.." && pwd)/tests/gitops/kstatus
kstatus_sum() { cat "$KSTATUS_SRC/go.mod" "$KSTATUS_SRC/go.sum" "$KSTATUS_SRC"/*.go | sha256sum | cut -d' ' -f1; }
kstatus_current() { [ -x "$BIN/kstatus" ] && [ "$(cat "$OUT/kstatus.src" 2>/dev/null)" = "$(kstatus_sum)" ]; }

want() { # TOOL -> the pinned version of the build that provides it
  case $1 in
    argocd) echo "$ARGOCD_VERSION" ;;
    kustomize) echo "$KUSTOMIZE_VERSION" ;;
    source-controller | kustomize-controller) echo "$FLUX_VERSION" ;;
  esac
}

have() { # TOOL: built, at its pinned version
  [ -x "$BIN/$1" ] && grep -qx "$1 $(want "$1")" "$BIN/.versions" 2>/dev/null
}

built() { # TOOL: record its version
  { grep -v "^$1 " "$BIN/.versions" 2>/dev/null || true; echo "$1 $(want "$1")"; } >"$BIN/.versions.tmp"
  mv "$BIN/.versions.tmp" "$BIN/.versions"
}

complete() { # all tools at their versions, and the CRDs
  local f
  kstatus_current || return 1
  for f in argocd kustomize source-controller kustomize-controller; do have "$f" || return 1; done
  for f in argocd-repo-server argocd-application-controller git-verify-wrapper.sh; do [ -x "$BIN/$f" ] || return 1; done
  [ -f "$OUT/crds/argocd/application-crd.yaml" ] && [ -f "$OUT/crds/flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml" ]
}

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "redis-server is missing and not root to install it (apt-get install redis-server)"
  log "installing redis-server ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends redis-server >&2
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
}

ensure_redis
if complete; then echo "$OUT"; exit 0; fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
command -v go >/dev/null 2>&1 || die "Go (>= 1.26) is required to build Argo CD and Flux"
command -v git >/dev/null 2>&1 || die "git is required"
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-trimpath
mkdir -p "$BIN" "$OUT/crds/argocd" "$OUT/crds/flux"
exec 8>"$OUT/.build.lock"
flock 8 # one build at a time: a second run waits, then finds the tools present
if complete; then echo "$OUT"; exit 0; fi

module_dir() { # MODULE@VERSION -> directory of the module in the read-only module cache
  GOFLAGS= go mod download -json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error"): sys.exit("setup-gitops: error: " + d["Error"])
print(d["Dir"])'
}

workcopy() { # MODULE@VERSION -> a writable copy of the module's source in a fresh directory under $OUT/work
  local src dst
  src=$(module_dir "$1")
  dst=$(mktemp -d "$OUT/work.XXXXXX")
  cp -r "$src/." "$dst/"
  chmod -R u+w "$dst"
  echo "$dst"
}

timed() { # NAME CMD...: run CMD, append "NAME SECONDS" to build-times.txt
  local name=$1 t0=$SECONDS; shift
  "$@"
  echo "$name $((SECONDS - t0))" >>"$OUT/build-times.txt"
  log "built $name in $((SECONDS - t0))s"
}

build_argocd() {
  local w
  w=$(workcopy "github.com/argoproj/argo-cd/v3@v$ARGOCD_VERSION")
  if grep -q '=> ./gitops-engine' "$w/go.mod"; then
    die "Argo CD v$ARGOCD_VERSION replaces its nested ./gitops-engine module, which no Go module carries; pin a v3.2.x release"
  fi
  log "building Argo CD v$ARGOCD_VERSION with $(go version) ..."
  local v=github.com/argoproj/argo-cd/v3/common
  (cd "$w" && go build -ldflags "-s -w -X $v.version=$ARGOCD_VERSION" -o "$BIN/argocd.tmp" ./cmd >&2)
  cp "$w/hack/git-verify-wrapper.sh" "$BIN/git-verify-wrapper.sh" && chmod +x "$BIN/git-verify-wrapper.sh"
  cp "$w"/manifests/crds/*-crd.yaml "$OUT/crds/argocd/"
  rm -rf "$w"
  mv "$BIN/argocd.tmp" "$BIN/argocd"
  ln -sf argocd "$BIN/argocd-repo-server"
  ln -sf argocd "$BIN/argocd-application-controller"
}

build_kustomize() {
  local w
  w=$(workcopy "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION")
  log "building kustomize v$KUSTOMIZE_VERSION ..."
  (cd "$w" && go build -ldflags "-s -w" -o "$BIN/kustomize.tmp" . >&2)
  rm -rf "$w"
  mv "$BIN/kustomize.tmp" "$BIN/kustomize"
}

build_flux() { # NAME (source-controller | kustomize-controller)
  local name=$1 w
  w=$(workcopy "github.com/fluxcd/$name@v$FLUX_VERSION")
  # The module zip lacks the nested ./api module: use the published api module of the same version instead.
  (cd "$w" && go mod edit -dropreplace "github.com/fluxcd/$name/api")
  if [ "$name" = source-controller ]; then
    # fluxcd/pkg/artifact v0.18.3 (required by source-controller v1.9.6) is refused by the Go proxy.
    (cd "$w" && go mod edit -replace github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@v0.18.0)
  fi
  log "building $name v$FLUX_VERSION ..."
  (cd "$w" && GOFLAGS="$GOFLAGS -mod=mod" go build -ldflags "-s -w" -o "$BIN/$name.tmp" . >&2)
  cp "$w"/config/crd/bases/*.yaml "$OUT/crds/flux/"
  rm -rf "$w"
  mv "$BIN/$name.tmp" "$BIN/$name"
}

build_kstatus() { # our probe: github.com/fluxcd/cli-utils' kstatus at the version kustomize-controller requires
  local sum
  sum=$(kstatus_sum)
  log "building kstatus (tests/gitops/kstatus) ..."
  (cd "$KSTATUS_SRC" && go build -ldflags "-s -w" -o "$BIN/kstatus.tmp" . >&2)
  mv "$BIN/kstatus.tmp" "$BIN/kstatus"
  echo "$sum" >"$OUT/kstatus.src"
}

kstatus_current || timed kstatus build_kstatus
have kustomize || { timed "kustomize-v$KUSTOMIZE_VERSION" build_kustomize && built kustomize; }
have source-controller || { timed "source-controller-v$FLUX_VERSION" build_flux source-controller && built source-controller; }
have kustomize-controller || { timed "kustomize-controller-v$FLUX_VERSION" build_flux kustomize-controller && built kustomize-controller; }
have argocd || { timed "argocd-v$ARGOCD_VERSION" build_argocd && built argocd; }
complete || die "some tools are still missing in $BIN"
echo "$OUT"
