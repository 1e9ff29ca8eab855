#!/usr/bin/env bash
# Builds what a real node of the test harness needs, from Go modules, into a cache outside the repo (never committed):
#   containerd, ctr, containerd-shim-runc-v2 (containerd 2.x), runc (with seccomp), the CNI plugins bridge, loopback,
#   host-local and portmap, crane (go-containerregistry) to write and read OCI image archives, and a pause program
#   (sleeps until SIGTERM) with its image archive pause.oci.tar (registry.k8s.io/pause:3.10.2, containerd's default
#   sandbox image, imported into the node: nothing is pulled). kubelet and kube-scheduler come from
#   scripts/setup-testbin.sh (one Kubernetes build).
# Idempotent: a binary already in the cache is not rebuilt. Prints the cache directory on stdout (last line).
#   scripts/setup-nodebin.sh              build what is missing
#   scripts/setup-nodebin.sh --print-dir  only print the cache directory
# Needs Go >= 1.26 and, for runc, gcc, pkg-config and libseccomp-dev (scripts/ensure-tools.sh installs them).
set -euo pipefail
CONTAINERD_VERSION=${CONTAINERD_VERSION:-2.4.2}
RUNC_VERSION=${RUNC_VERSION:-1.5.3}
CNI_VERSION=${CNI_VERSION:-1.10.0}
CRANE_VERSION=${CRANE_VERSION:-0.22.1}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
OUT=${SSRS_NODEBIN:-$CACHE/nodebin/containerd$CONTAINERD_VERSION-runc$RUNC_VERSION-cni$CNI_VERSION-crane$CRANE_VERSION}
if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi

log() { echo "setup-nodebin: $*" >&2; }
die() { log "error: $*"; exit 1; }

BINS=(containerd ctr containerd-shim-runc-v2 runc crane pause cni/bridge cni/loopback cni/host-local cni/portmap)
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
missing=()
for b in "${BINS[@]}"; do [ -x "$OUT/$b" ] || missing+=("$b"); done
[ -f "$OUT/pause.oci.tar" ] || missing+=(pause.oci.tar)
if [ ${#missing[@]} -eq 0 ]; then log "node binaries cached"; echo "$OUT"; exit 0; fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
command -v go >/dev/null 2>&1 || die "Go (>= 1.26) is required to build the node binaries"
log "using $(go version); missing: ${missing[*]}"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-trimpath
mkdir -p "$OUT/cni"
if command -v flock >/dev/null 2>&1; then
  exec 8>"$OUT/.build.lock"
  flock 8 || true
fi

step() { # step NAME CMD...: runs CMD, reports the time it took
  local name=$1; shift; local t0=$SECONDS
  log "building $name ..."
  "$@" >&2
  log "built $name in $((SECONDS - t0))s"
}

# consumer MODULE@VERSION: a throw-away module in the current directory that requires it.
consumer() {
  go mod init local.test/nodebin >/dev/null 2>&1
  go mod edit -require="$1"
  printf '//go:build tools\n\npackage tools\n' > tools.go
  shift
  { printf 'import (\n'; for p in "$@"; do printf '\t_ "%s"\n' "$p"; done; printf ')\n'; } >> tools.go
  go mod tidy
}

build_containerd() (
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  local m=github.com/containerd/containerd/v2
  consumer "$m@v$CONTAINERD_VERSION" $m/cmd/containerd $m/cmd/ctr $m/cmd/containerd-shim-runc-v2
  CGO_ENABLED=0 go build -ldflags "-s -w -X $m/version.Version=v$CONTAINERD_VERSION" -o "$w/bin/" \
    $m/cmd/containerd $m/cmd/ctr $m/cmd/containerd-shim-runc-v2
  mv "$w/bin/"* "$OUT/"
)

build_runc() (
  command -v gcc >/dev/null && command -v pkg-config >/dev/null && pkg-config --exists libseccomp \
    || die "runc needs gcc, pkg-config and libseccomp-dev (run scripts/ensure-tools.sh as root)"
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  consumer "github.com/opencontainers/runc@v$RUNC_VERSION" github.com/opencontainers/runc
  CGO_ENABLED=1 go build -tags seccomp -ldflags "-s -w -X main.version=$RUNC_VERSION" -o "$w/runc" \
    github.com/opencontainers/runc
  mv "$w/runc" "$OUT/runc"
)

build_cni() (
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  local m=github.com/containernetworking/plugins/plugins
  consumer "github.com/containernetworking/plugins@v$CNI_VERSION" \
    $m/main/bridge $m/main/loopback $m/ipam/host-local $m/meta/portmap
  CGO_ENABLED=0 go build -ldflags "-s -w" -o "$w/bin/" \
    $m/main/bridge $m/main/loopback $m/ipam/host-local $m/meta/portmap
  mv "$w/bin/"* "$OUT/cni/"
)

build_crane() (
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  consumer "github.com/google/go-containerregistry@v$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane
  CGO_ENABLED=0 go build -ldflags "-s -w" -o "$w/crane" github.com/google/go-containerregistry/cmd/crane
  mv "$w/crane" "$OUT/crane"
)

# The sandbox ("pause") container's program: sleeps until SIGTERM or SIGINT. Ours, a few lines, static.
build_pause() (
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  go mod init local.test/pause >/dev/null 2>&1
  cat > main.go <<'EOF'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
EOF
  CGO_ENABLED=0 go build -ldflags "-s -w" -o "$w/pause" .
  mv "$w/pause" "$OUT/pause"
)

# The sandbox image: the pause program alone, as uid 65535.
build_pause_image() (
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
  mkdir -p "$w/rootfs" && install -m 0755 "$OUT/pause" "$w/rootfs/pause"
  printf '{"entrypoint": ["/pause"], "user": "65535:65535"}\n' > "$w/config.json"
  CRANE="$OUT/crane" SOURCE_DATE_EPOCH=0 "$(dirname "$0")/oci-image.sh" "$w/rootfs" "$w/config.json" \
    "$OUT/pause.oci.tar" "${PAUSE_IMAGE%:*}" "${PAUSE_IMAGE##*:}"
)

total0=$SECONDS
[ -x "$OUT/pause" ] || step pause build_pause
[ -x "$OUT/crane" ] || step "crane v$CRANE_VERSION" build_crane
{ [ -x "$OUT/cni/bridge" ] && [ -x "$OUT/cni/loopback" ] && [ -x "$OUT/cni/host-local" ] && [ -x "$OUT/cni/portmap" ]; } \
  || step "CNI plugins v$CNI_VERSION" build_cni
[ -x "$OUT/runc" ] || step "runc v$RUNC_VERSION (seccomp)" build_runc
{ [ -x "$OUT/containerd" ] && [ -x "$OUT/ctr" ] && [ -x "$OUT/containerd-shim-runc-v2" ]; } \
  || step "containerd v$CONTAINERD_VERSION" build_containerd
[ -f "$OUT/pause.oci.tar" ] || step "the pause image" build_pause_image
log "node binaries ready in $((SECONDS - total0))s: $OUT"
echo "$OUT"
