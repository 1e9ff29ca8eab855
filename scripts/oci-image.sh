#!/usr/bin/env bash
# Writes an OCI image archive from a root filesystem directory and an image configuration, with no Docker daemon:
#   scripts/oci-image.sh ROOTFS CONFIG.json OUT.oci.tar NAME TAG...
# CONFIG.json: {"user", "entrypoint": [...], "exposed_ports": [...], "labels": {...}} (scripts/image-config.py
# prints it from the Dockerfile). One layer, written by GNU tar with fixed owners and times (the last commit's, or
# SOURCE_DATE_EPOCH) and compressed by gzip -n; crane (go-containerregistry, scripts/setup-nodebin.sh) appends it to
# an empty OCI base and sets the configuration, through a throw-away registry it serves on 127.0.0.1 while this
# script runs; `crane pull --format=oci` writes the OCI layout, named for containerd (`io.containerd.image.name`)
# and OCI tools (`org.opencontainers.image.ref.name`), one index entry per tag. OUT appears only when complete.
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 ROOTFS CONFIG.json OUT.oci.tar NAME TAG..." >&2; exit 2; }
rootfs=$1 config=$2 out=$3 name=$4
shift 4
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
die() { echo "oci-image: error: $*" >&2; exit 1; }
for t in tar gzip python3 curl; do command -v "$t" >/dev/null || die "'$t' is not installed"; done
CRANE=${CRANE:-$("$SCRIPTS/setup-nodebin.sh" --print-dir)/crane}
[ -x "$CRANE" ] || die "crane is missing: run scripts/setup-nodebin.sh"
[ -d "$rootfs" ] || die "$rootfs: no such directory"

work=$(mktemp -d)
registry_pid=""
cleanup() {
  [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

epoch=${SOURCE_DATE_EPOCH:-$(git -C "$SCRIPTS" log -1 --format=%ct 2>/dev/null || echo 0)}
# The root directory itself is an entry (0755): without it, containerd makes the snapshot's root 0700 and a
# non-root user cannot reach anything in the image.
chmod 0755 "$rootfs"
(cd "$rootfs" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$work/layer.tar" .)
gzip -9n "$work/layer.tar"

cfg() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$config" "$1"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CRANE" registry serve --address "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 || die "crane's registry did not start: $(cat "$work/registry.log")"

ref=127.0.0.1:$port/image:build
"$CRANE" append --insecure --oci-empty-base --platform linux/amd64 -f "$work/layer.tar.gz" -t "$ref" >/dev/null 2>"$work/append.log" \
  || die "crane append failed: $(cat "$work/append.log")"
mutate=(--insecure --set-platform linux/amd64 --entrypoint "$(cfg '",".join(c["entrypoint"])')")
user=$(cfg 'c.get("user") or ""')
[ -z "$user" ] || mutate+=(--user "$user")
ports=$(cfg '",".join(c.get("exposed_ports", []))')
[ -z "$ports" ] || mutate+=(--exposed-ports "$ports")
while IFS= read -r label; do
  [ -z "$label" ] || mutate+=(--label "$label")
done < <(cfg '"\n".join(k+"="+v for k,v in sorted(c.get("labels", {}).items()))')
"$CRANE" mutate "${mutate[@]}" -t "$ref" "$ref" 2>"$work/mutate.log" >/dev/null || die "crane mutate failed: $(cat "$work/mutate.log")"
"$CRANE" pull --insecure --format=oci "$ref" "$work/layout" 2>"$work/pull.log" || die "crane pull failed: $(cat "$work/pull.log")"

python3 - "$work/layout/index.json" "$name" "$@" <<'EOF'
import json, sys
path, name, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
index = json.load(open(path))
[manifest] = index["manifests"]
index["manifests"] = [dict(manifest, annotations={"io.containerd.image.name": f"{name}:{t}",
                                                  "org.opencontainers.image.ref.name": t}) for t in tags]
json.dump(index, open(path, "w"))
EOF
(cd "$work/layout" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf "$work/image.tar" .)
mkdir -p "$(dirname "$out")"
mv "$work/image.tar" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"
