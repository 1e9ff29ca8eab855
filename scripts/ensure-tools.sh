#!/usr/bin/env bash
# Checks the system tools the end-to-end harness needs and installs missing ones with apt-get (as root):
# ip (iproute2), unshare/setsid/flock/nsenter/mount (util-linux, mount), openssl, curl, python3; for the real node:
# iptables and socat, and gcc, pkg-config and libseccomp-dev to build runc with seccomp.
# Go (>= 1.26, for scripts/setup-testbin.sh) is checked, not installed: Debian's golang is too old.
set -euo pipefail
log() { echo "ensure-tools: $*" >&2; }

declare -A pkg=([ip]=iproute2 [unshare]=util-linux [setsid]=util-linux [flock]=util-linux [nsenter]=util-linux
  [mount]=mount [openssl]=openssl [curl]=curl [python3]=python3 [iptables]=iptables [socat]=socat [gcc]=gcc
  [pkg-config]=pkg-config)
missing=()
for tool in "${!pkg[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg[$tool]}")
done
pkg-config --exists libseccomp 2>/dev/null || missing+=(libseccomp-dev)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [ "$(id -u)" = 0 ] || { log "error: missing packages ${missing[*]} and not root to install them"; exit 1; }
  log "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
[ "$(id -u)" = 0 ] || { log "error: the end-to-end harness must run as root (network and mount namespaces)"; exit 1; }
if ! command -v go >/dev/null 2>&1 && ! [ -x /usr/local/go/bin/go ]; then
  log "warning: Go not found; scripts/setup-testbin.sh needs it unless the test binaries are already cached"
fi
exit 0
