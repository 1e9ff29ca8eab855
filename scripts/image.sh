#!/usr/bin/env bash
# make image: the controller image as an OCI archive, built on this machine with no Docker daemon and no registry.
#
#   1. static release binaries of sealed-secrets-controller and kubeseal (glibc, -C target-feature=+crt-static);
#   2. the root filesystem laid out by scripts/image-rootfs.sh (the Dockerfile's build stage runs the same script);
#   3. the Dockerfile's final stage (USER, EXPOSE, ENTRYPOINT, LABEL), read by scripts/image-config.py;
#   4. scripts/oci-image.sh: one reproducible layer, and crane (go-containerregistry) writes the OCI archive.
#
# Output (written to a temporary name, renamed only when complete): target/image/<file>.oci.tar, importable with
# `ctr -n k8s.io images import`, `skopeo copy oci-archive:...`, `crane push`, or `docker load` (Docker 25+).
#   scripts/image.sh                ours:     sealed-secrets-rs/controller:<version> and :latest
#   scripts/image.sh --bitnami      Bitnami's v0.36.6 binaries (test-binary cache) on the same base, for size
#                                   comparisons and the chart tests: docker.io/bitnami/sealed-secrets-controller:0.36.6
# Prints the archive's path (last stdout line). Env: IMAGE_NAME (ours), IMAGE_OUT (default target/image).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
OUT=${IMAGE_OUT:-target/image}
log() { echo "image: $*" >&2; }
die() { echo "image: error: $*" >&2; exit 1; }

bitnami=0
[ "${1:-}" = "--bitnami" ] && bitnami=1

for t in python3; do command -v "$t" >/dev/null || die "'$t' is not installed"; done
CA=/etc/ssl/certs/ca-certificates.crt
[ -f "$CA" ] || die "$CA is missing: install Debian's ca-certificates package"
NODEBIN=$(scripts/setup-nodebin.sh --print-dir)
CRANE=$NODEBIN/crane
[ -x "$CRANE" ] || die "crane is missing: run scripts/setup-nodebin.sh (make testbin builds it)"

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$bitnami" = 1 ]; then
  testbin=$(scripts/setup-testbin.sh --print-dir)
  [ -x "$testbin/bitnami-controller" ] && [ -x "$testbin/bitnami-kubeseal" ] \
    || die "Bitnami's binaries are missing: run scripts/setup-testbin.sh"
  # Stripped copies (symbols and debug info out, as in release builds and as ours are), for a fair comparison.
  command -v strip >/dev/null || die "'strip' (binutils) is not installed"
  stripped=$(mktemp -d)
  trap 'rm -rf "$stripped"' EXIT
  strip -o "$stripped/controller" "$testbin/bitnami-controller"
  strip -o "$stripped/kubeseal" "$testbin/bitnami-kubeseal"
  controller=$stripped/controller kubeseal=$stripped/kubeseal
  name=docker.io/bitnami/sealed-secrets-controller tags=(0.36.6) file=bitnami-sealed-secrets-controller-0.36.6
  labels=(--arg VERSION=0.36.6 --arg REVISION=bitnami-v0.36.6)
else
  target=x86_64-unknown-linux-gnu
  log "building static release binaries ($target, crt-static) ..."
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" "$CARGO" build --release --locked --target "$target" \
    -p sealed-secrets-controller --bin sealed-secrets-controller -p kubeseal --bin kubeseal >&2
  built=${CARGO_TARGET_DIR:-target}/$target/release # cargo writes where CARGO_TARGET_DIR says, if set
  controller=$built/sealed-secrets-controller kubeseal=$built/kubeseal
  for b in "$controller" "$kubeseal"; do
    if readelf -l "$b" | grep -q 'program interpreter'; then die "$b is not static (it names a program interpreter)"; fi
  done
  name=docker.io/${IMAGE_NAME:-sealed-secrets-rs/controller} tags=("$version" latest)
  file=sealed-secrets-controller-$version labels=(--arg "VERSION=$version" --arg "REVISION=$revision")
fi

mkdir -p "$OUT"
work=$(cd "$(mktemp -d "$OUT/.work.XXXXXX")" && pwd)
trap 'rm -rf "$work" ${stripped:+"$stripped"}' EXIT
scripts/image-rootfs.sh "$work/rootfs" "$controller" "$kubeseal" "$CA"
python3 scripts/image-config.py "${labels[@]}" Dockerfile >"$work/config.json"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base"])' "$work/config.json")" = scratch ] \
  || die "the Dockerfile's final stage must start FROM scratch"
if [ "$bitnami" = 1 ]; then # same layout and user; labels that say whose binaries these are
  python3 - "$work/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["labels"].update({
    "org.opencontainers.image.title": "bitnami-sealed-secrets-controller (test build)",
    "org.opencontainers.image.description": "Bitnami Sealed Secrets v0.36.6 binaries on sealed-secrets-rs's image base, for tests and size comparisons",
    "org.opencontainers.image.source": "https://github.com/bitnami-labs/sealed-secrets",
})
json.dump(c, open(sys.argv[1], "w"))
EOF
fi
CRANE=$CRANE scripts/oci-image.sh "$work/rootfs" "$work/config.json" "$OUT/$file.oci.tar" "$name" "${tags[@]}"
printf '%s\n' "${tags[@]/#/$name:}" >"$OUT/$file.refs"
log "wrote $OUT/$file.oci.tar ($(stat -c %s "$OUT/$file.oci.tar") bytes): ${tags[*]/#/$name:}"
echo "$OUT/$file.oci.tar"
