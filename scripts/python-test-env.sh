#!/usr/bin/env bash
# Creates (once) the Python virtualenv for the crypto tests that use an independent implementation
# (crates/sealed-secrets/tests/python: pyca/cryptography + pytest), and prints its python path on
# stdout. Idempotent and safe to run concurrently; progress goes to stderr.
#   venv: ${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}/venv
set -euo pipefail
CACHE=${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}
VENV=$CACHE/venv
PY=$VENV/bin/python
PACKAGES=("cryptography>=42" "pytest>=7" "pyyaml>=6")

log() { echo "python-test-env: $*" >&2; }
ready() { [ -x "$PY" ] && "$PY" -c 'import cryptography, pytest, yaml' 2>/dev/null; }

mkdir -p "$CACHE"
exec 9>"$CACHE/venv.lock"
flock 9

if ! ready; then
  command -v python3 >/dev/null || { log "python3 not found: install Python 3.9 or newer"; exit 1; }
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing python3-venv with apt-get"
      apt-get install -y python3-venv >&2 || { apt-get update >&2 && apt-get install -y python3-venv >&2; }
    else
      log "python3 has no venv/ensurepip module: install python3-venv"; exit 1
    fi
  fi
  log "creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  log "installing ${PACKAGES[*]}"
  "$PY" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
  ready || { log "the venv at $VENV cannot import cryptography and pytest"; exit 1; }
fi
echo "$PY"
