#!/usr/bin/env bash
# Runs a command that only supports in-cluster Kubernetes config (e.g. Bitnami's controller) as a local process:
# inside a private mount namespace, mounts SA_DIR (token, ca.crt, namespace) at
# /var/run/secrets/kubernetes.io/serviceaccount. The caller sets KUBERNETES_SERVICE_HOST/PORT.
#   scripts/in-cluster-exec.sh SA_DIR -- COMMAND [ARGS...]
# The process keeps this script's PID (unshare and sh exec), so PID files and kill-by-PID work.
# The only trace outside is an empty /run/secrets directory if it did not exist.
set -euo pipefail
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: $0 SA_DIR -- COMMAND [ARGS...]" >&2; exit 2; }
sa_dir=$(cd "$1" && pwd); shift 2
for f in token ca.crt namespace; do
  [ -f "$sa_dir/$f" ] || { echo "in-cluster-exec: $sa_dir/$f is missing" >&2; exit 1; }
done
exec unshare -m --propagation private sh -c '
  set -e
  mkdir -p /var/run/secrets
  mount -t tmpfs -o mode=0755 tmpfs /var/run/secrets
  mkdir -p /var/run/secrets/kubernetes.io/serviceaccount
  mount --bind "$0" /var/run/secrets/kubernetes.io/serviceaccount
  exec "$@"' "$sa_dir" "$@"
