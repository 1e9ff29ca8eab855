#!/usr/bin/env bash
# `make test-image` (part of `make test`): builds the controller image (scripts/image.sh), checks it against the
# Dockerfile (scripts/check-image.py), and checks that a missing or failing tool is a clear error that leaves no
# archive behind. Prints the archive's path (last stdout line).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "test-image: $*" >&2; }
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }

image=$(scripts/image.sh | tail -n 1)
python3 scripts/check-image.py "$image" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"
echo '{"entrypoint": ["/x"]}' >"$work/config.json"

# A missing tool: a clear error naming it, nothing written.
if CRANE=/nonexistent/crane scripts/oci-image.sh "$work/rootfs" "$work/config.json" "$work/out.tar" x/y t \
  2>"$work/err"; then fail "oci-image.sh succeeded without crane"; fi
grep -q "crane is missing" "$work/err" || fail "no clear error without crane: $(cat "$work/err")"
[ ! -e "$work/out.tar" ] || fail "an archive was written without crane"

# A tool failing half-way (crane's last step): an error, and no archive, complete or partial.
real_crane=$(scripts/setup-nodebin.sh --print-dir)/crane
cat >"$work/crane" <<SH
#!/bin/sh
[ "\$1" = pull ] && { echo "simulated failure" >&2; exit 1; }
exec "$real_crane" "\$@"
SH
chmod +x "$work/crane"
if CRANE=$work/crane scripts/oci-image.sh "$work/rootfs" "$work/config.json" "$work/out.tar" x/y t 2>"$work/err"; then
  fail "oci-image.sh succeeded although crane pull failed"
fi
grep -q "crane pull failed" "$work/err" || fail "no clear error when crane pull fails: $(cat "$work/err")"
[ -z "$(ls "$work" | grep '^out\.tar')" ] || fail "a partial archive was left: $(ls "$work")"
log "image checks passed: $image"
echo "$image"
