#!/bin/sh
# Lays out the controller image's root filesystem in ROOTFS: the one place that says what the image holds, used by
# both the Dockerfile (its build stage) and `make image` (scripts/image.sh).
#   scripts/image-rootfs.sh ROOTFS CONTROLLER_BINARY KUBESEAL_BINARY CA_BUNDLE
# ROOTFS must not exist yet. Holds: /usr/local/bin/sealed-secrets-controller, /usr/local/bin/kubeseal,
# /usr/local/bin/controller (a symbolic link: upstream's manifests and chart run `controller`),
# /etc/ssl/certs/ca-certificates.crt, and /etc/passwd and /etc/group naming uid/gid 1001 (the image's user) and
# 65534 (nobody). No shell, no package manager, nothing else. POSIX sh: it runs in the Dockerfile's build stage too.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 ROOTFS CONTROLLER_BINARY KUBESEAL_BINARY CA_BUNDLE" >&2; exit 2; }
rootfs=$1 controller=$2 kubeseal=$3 ca=$4
for f in "$controller" "$kubeseal" "$ca"; do
  [ -f "$f" ] || { echo "image-rootfs: $f: no such file" >&2; exit 1; }
done
[ ! -e "$rootfs" ] || { echo "image-rootfs: $rootfs already exists" >&2; exit 1; }
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$controller" "$rootfs/usr/local/bin/sealed-secrets-controller"
install -m 0755 "$kubeseal" "$rootfs/usr/local/bin/kubeseal"
ln -s sealed-secrets-controller "$rootfs/usr/local/bin/controller"
install -m 0644 "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nsealed-secrets:x:1001:1001:sealed-secrets:/nonexistent:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
  > "$rootfs/etc/passwd"
printf 'root:x:0:\nsealed-secrets:x:1001:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
