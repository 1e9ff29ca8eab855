#!/usr/bin/env bash
# Builds the test-only binaries from Go modules into a cache outside the repo (never committed):
#   kube-apiserver, kube-controller-manager, kubectl (Kubernetes 1.35.x), etcd (3.6.x),
#   and Bitnami's kubeseal + controller (v0.36.6) as reference oracles.
# Idempotent: a binary already in the cache is not rebuilt. Prints the cache directory on stdout (last line).
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.35.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
SS_VERSION=${SS_VERSION:-0.36.6}
OUT=${K8S_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs/testbin/k8s$K8S_VERSION-etcd$ETCD_VERSION-ss$SS_VERSION}
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-trimpath
mkdir -p "$OUT"
MINOR=$(cut -d. -f2 <<<"$K8S_VERSION")

log() { echo "setup-testbin: $*" >&2; }
step() { # step NAME CMD...: runs CMD, reports the time it took
  local name=$1; shift; local t0=$SECONDS
  log "building $name ..."
  "$@" >&2
  log "built $name in $((SECONDS - t0))s"
}

build_k8s() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  cd "$w"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
  go mod init local.test/k8s-testbin >/dev/null 2>&1
  local args=(-require="k8s.io/kubernetes@v$K8S_VERSION")
  for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
    args+=(-replace="$m=$m@v0.${K8S_VERSION#1.}")
  done
  go mod edit "${args[@]}" -go="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  local gd; gd=$(awk '$1=="godebug"{print $2; exit}' "$gomod")
  if [ -n "$gd" ]; then go mod edit -godebug="$gd"; fi
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
  go mod tidy
  local ld="-s -w" now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  go build -ldflags "$ld" -o "$OUT/.tmp-k8s/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
  mv "$OUT/.tmp-k8s/"* "$OUT/" && rmdir "$OUT/.tmp-k8s"
}

build_etcd() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  cd "$w"
  go mod init local.test/etcd-testbin >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy
  go build -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

build_bitnami() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  GOBIN="$w" go install "github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@v$SS_VERSION"
  GOBIN="$w" go install "github.com/bitnami-labs/sealed-secrets/cmd/controller@v$SS_VERSION"
  mv "$w/controller" "$OUT/bitnami-controller"
  mv "$w/kubeseal" "$OUT/bitnami-kubeseal"
}

total0=$SECONDS
if [ ! -x "$OUT/etcd" ]; then step "etcd v$ETCD_VERSION" build_etcd; else log "etcd cached"; fi
if [ ! -x "$OUT/bitnami-kubeseal" ] || [ ! -x "$OUT/bitnami-controller" ]; then
  step "bitnami kubeseal+controller v$SS_VERSION" build_bitnami
else log "bitnami binaries cached"; fi
if [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ] || [ ! -x "$OUT/kubectl" ]; then
  step "kube-apiserver, kube-controller-manager, kubectl v$K8S_VERSION" build_k8s
else log "kubernetes binaries cached"; fi
log "testbin ready in $((SECONDS - total0))s: $OUT"
echo "$OUT"
