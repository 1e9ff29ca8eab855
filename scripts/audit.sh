#!/usr/bin/env bash
# `make audit`: cargo-audit, offline, against a snapshot of the RustSec advisory database kept in the cache
# (these machines reach no advisory server). Checks Cargo.lock and fuzz/Cargo.lock.
#   scripts/audit.sh                        use the snapshot in $CACHE/advisory-db
#   ADVISORY_DB=/path/to/clone scripts/audit.sh   copy a clone of https://github.com/rustsec/advisory-db
#                                           (git clone, or any git directory of it) into the cache first
# Exits non-zero when a vulnerability is found (warnings for unmaintained or yanked crates are printed).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
DB=$CACHE/advisory-db
log() { echo "audit: $*" >&2; }
die() { echo "audit: error: $*" >&2; exit 1; }

if [ -n "${ADVISORY_DB:-}" ]; then
  [ -d "$ADVISORY_DB" ] || die "ADVISORY_DB=$ADVISORY_DB is not a directory"
  log "copying the advisory database from $ADVISORY_DB"
  rm -rf "$DB.tmp"
  git clone --quiet "$ADVISORY_DB" "$DB.tmp" || die "cannot clone $ADVISORY_DB (a clone of https://github.com/rustsec/advisory-db)"
  rm -rf "$DB" && mv "$DB.tmp" "$DB"
fi
if [ ! -d "$DB/crates" ]; then
  die "no advisory database in $DB.
  These machines reach no advisory server: clone https://github.com/rustsec/advisory-db where you have network
  access, bring the clone here, and run: ADVISORY_DB=/path/to/advisory-db make audit"
fi
if ! command -v cargo-audit >/dev/null 2>&1; then
  log "installing cargo-audit (once)"
  cargo install cargo-audit --locked >&2 || die "cannot install cargo-audit from crates.io"
fi
log "advisory database: $(git -C "$DB" log -1 --format='%h of %cs' 2>/dev/null || echo 'unknown date')"
# Accepted advisories, each with the reason in docs/security.md ("Dependencies and advisories"):
#   RUSTSEC-2023-0071  rsa (Marvin): only in the optional pure-Rust backend; no decryption oracle uses it.
ACCEPTED=(RUSTSEC-2023-0071)
ignore=()
for id in "${ACCEPTED[@]}"; do ignore+=(--ignore "$id"); done
rc=0
for lock in Cargo.lock fuzz/Cargo.lock; do
  log "checking $lock (accepted, see docs/security.md: ${ACCEPTED[*]})"
  cargo audit --db "$DB" --no-fetch --file "$lock" "${ignore[@]}" || rc=$?
done
exit "$rc"
