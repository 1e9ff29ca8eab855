#!/usr/bin/env bash
# Builds the test-only binaries from Go modules into a cache outside the repo (never committed):
#   kube-apiserver, kube-controller-manager, kubectl, kubelet, kube-scheduler (Kubernetes 1.35.x, one build), etcd (3.6.x),
#   and Bitnami's kubeseal + controller (v0.36.6, named bitnami-kubeseal / bitnami-controller) as reference oracles.
# Idempotent: a binary already in the cache is not rebuilt, so a warm run takes well under a second.
# Prints the cache directory on stdout (last line); progress and per-step timings go to stderr.
#   scripts/setup-testbin.sh              build what is missing
#   scripts/setup-testbin.sh --print-dir  only print the cache directory
# Cache: ${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}/testbin/<versions>/ (K8S_TESTBIN overrides).
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.35.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
SS_VERSION=${SS_VERSION:-0.36.6}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=${K8S_TESTBIN:-$CACHE/testbin/k8s$K8S_VERSION-etcd$ETCD_VERSION-ss$SS_VERSION}
if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi

log() { echo "setup-testbin: $*" >&2; }

need_build=0
K8S_BINS=(kube-apiserver kube-controller-manager kubectl kubelet kube-scheduler)
for b in etcd bitnami-kubeseal bitnami-controller "${K8S_BINS[@]}"; do
  [ -x "$OUT/$b" ] || need_build=1
done
if [ "$need_build" = 1 ]; then
  # Go: the machine's toolchain (1.26.x); /usr/local/go/bin may be missing from a minimal PATH (e.g. CI).
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
  command -v go >/dev/null 2>&1 || { log "error: Go is required to build the test binaries (Go >= 1.26)"; exit 1; }
  command -v python3 >/dev/null 2>&1 || { log "error: python3 is required"; exit 1; }
  log "using $(go version)"
fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-trimpath
mkdir -p "$OUT"
if [ "$need_build" = 1 ] && command -v flock >/dev/null 2>&1; then
  # One build at a time per cache dir: a second run waits, then finds the binaries present.
  exec 8>"$OUT/.build.lock"
  flock 8 || true
fi
MINOR=$(cut -d. -f2 <<<"$K8S_VERSION")

step() { # step NAME CMD...: runs CMD, reports the time it took
  local name=$1; shift; local t0=$SECONDS
  log "building $name ..."
  "$@" >&2
  log "built $name in $((SECONDS - t0))s"
}

build_k8s() ( # subshell: its own cwd and cleanup trap
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  cd "$w"
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
  go mod init local.test/k8s-testbin >/dev/null 2>&1
  # Every staging module the kubernetes go.mod requires at the fake v0.0.0 must be replaced by its published tag.
  args=(-require="k8s.io/kubernetes@v$K8S_VERSION")
  for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
    args+=(-replace="$m=$m@v0.${K8S_VERSION#1.}")
  done
  go mod edit "${args[@]}" -go="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  gd=$(awk '$1=="godebug"{print $2; exit}' "$gomod")
  if [ -n "$gd" ]; then go mod edit -godebug="$gd"; fi
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in "${K8S_BINS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'; } > tools.go
  go mod tidy
  ld="-s -w"; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  rm -rf "$OUT/.tmp-k8s"
  # One build for all of them: the packages they share compile once.
  go build -ldflags "$ld" -o "$OUT/.tmp-k8s/" "${K8S_BINS[@]/#/k8s.io/kubernetes/cmd/}"
  mv "$OUT/.tmp-k8s/"* "$OUT/" && rmdir "$OUT/.tmp-k8s"
)

build_etcd() ( # subshell: its own cwd and cleanup trap
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  cd "$w"
  go mod init local.test/etcd-testbin >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy
  go build -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
)

build_bitnami() ( # subshell: its own cwd and cleanup trap
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  GOBIN="$w" go install "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@v$SS_VERSION"
  GOBIN="$w" go install "github.com/bitnami-labs/sealed-secrets/cmd/controller@v$SS_VERSION"
  mv "$w/controller" "$OUT/bitnami-controller"
  mv "$w/kubeseal" "$OUT/bitnami-kubeseal"
)

total0=$SECONDS
if [ ! -x "$OUT/etcd" ]; then step "etcd v$ETCD_VERSION" build_etcd; else log "etcd cached"; fi
if [ ! -x "$OUT/bitnami-kubeseal" ] || [ ! -x "$OUT/bitnami-controller" ]; then
  step "bitnami kubeseal+controller v$SS_VERSION" build_bitnami
else log "bitnami binaries cached"; fi
k8s_missing=0
for b in "${K8S_BINS[@]}"; do [ -x "$OUT/$b" ] || k8s_missing=1; done
if [ "$k8s_missing" = 1 ]; then
  step "${K8S_BINS[*]} v$K8S_VERSION" build_k8s
else log "kubernetes binaries cached"; fi
log "testbin ready in $((SECONDS - total0))s: $OUT"
echo "$OUT"
