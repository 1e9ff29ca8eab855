#!/usr/bin/env bash
# make dist: the release artifacts a user installs from, in target/dist/ (DIST_OUT overrides):
#   kubeseal-<v>-linux-amd64.tar.gz                    kubeseal (static), LICENSE, README.md
#   sealed-secrets-controller-<v>-linux-amd64.tar.gz   the controller (static), LICENSE, README.md
#   sealed-secrets-controller-<v>.oci.tar              the image (make image), for crane/skopeo/ctr/docker load
#   sealed-secrets-<chart version>.tgz                 the Helm chart (helm package)
#   kubeseal.cdx.json, sealed-secrets-controller.cdx.json   CycloneDX SBOM of each binary (cargo-cyclonedx)
#   kubeseal.krew.yaml                                 krew plugin manifest; its sha256 is the kubeseal archive's
#   SHA256SUMS                                         sha256sum of every file above
# Only linux/amd64: this machine has no other Rust target installed, and rustup cannot download one here.
# Archives are reproducible (sorted, owner 0, the last commit's time, gzip -n). The directory is assembled aside
# and checked by scripts/check-dist.py before it replaces target/dist, so a failed run never leaves half of it.
# RELEASE_URL (default <repository>/releases/download/v<version>) is where the krew manifest says the archive lives.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DIST_OUT:-target/dist}
log() { echo "dist: $*" >&2; }
die() { echo "dist: error: $*" >&2; exit 1; }
for t in tar gzip sha256sum python3 git; do command -v "$t" >/dev/null || die "'$t' is not installed"; done

meta() { python3 -c 'import sys,tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"][sys.argv[1]])' "$1"; }
version=$(meta version)
repository=$(meta repository)
RELEASE_URL=${RELEASE_URL:-$repository/releases/download/v$version}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
target=x86_64-unknown-linux-gnu

tools=$(scripts/setup-disttools.sh | tail -n 1)
helm=$(scripts/setup-helm.sh | tail -n 1)

log "building the image and the static binaries (scripts/image.sh) ..."
image=$(scripts/image.sh | tail -n 1)

mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d "$OUT.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

archive() { # NAME: <NAME>-<v>-linux-amd64.tar.gz holding the binary, LICENSE and README.md
  local name=$1 stage
  stage=$(mktemp -d "$work/.stage.XXXXXX")
  install -m 0755 "${CARGO_TARGET_DIR:-target}/$target/release/$1" "$stage/$name"
  install -m 0644 LICENSE README.md "$stage/"
  (cd "$stage" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=posix \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf - "$name" LICENSE README.md) \
    | gzip -9n >"$work/$name-$version-linux-amd64.tar.gz"
  rm -rf "$stage"
}
archive kubeseal
archive sealed-secrets-controller
cp "$image" "$work/"

log "packaging the chart ..."
"$helm" package charts/sealed-secrets --destination "$work" >&2 || die "helm package failed"

log "writing the SBOMs (cargo-cyclonedx) ..."
# cargo-cyclonedx writes <binary>_bin.cdx.json next to the Cargo.toml of every workspace crate; the two of the
# release binaries are moved out (the builder's checkout path replaced by /) and the rest removed at once.
clean_sboms() { find crates -name '*_bin.cdx.json' -delete; }
trap 'rm -rf "$work"; clean_sboms' EXIT
"$tools/cargo-cyclonedx" cyclonedx --manifest-path Cargo.toml --format json --spec-version 1.5 \
  --describe binaries --target "$target" -q >&2 || die "cargo-cyclonedx failed"
for crate in kubeseal sealed-secrets-controller; do
  sed "s|file://$PWD/|file:///|g" "crates/$crate/${crate}_bin.cdx.json" >"$work/$crate.cdx.json" \
    || die "cargo-cyclonedx wrote no SBOM for the $crate binary"
done
clean_sboms

log "writing the krew manifest ..."
sha=$(sha256sum "$work/kubeseal-$version-linux-amd64.tar.gz" | cut -d' ' -f1)
sed -e "s|@VERSION@|$version|g" -e "s|@SHA256@|$sha|g" -e "s|@URL@|$RELEASE_URL/kubeseal-$version-linux-amd64.tar.gz|g" \
  -e "s|@HOMEPAGE@|$repository|g" packaging/kubeseal.krew.yaml.in >"$work/kubeseal.krew.yaml"

(cd "$work" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)

"$(scripts/python-test-env.sh)" scripts/check-dist.py "$work" --version "$version" --krew "$tools/krew" || die "the artifacts failed their check"
rm -rf "$OUT.old"
if [ -e "$OUT" ]; then mv "$OUT" "$OUT.old"; fi
mv "$work" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
clean_sboms
log "wrote $OUT:"
(cd "$OUT" && ls -l | tail -n +2) >&2
echo "$OUT"
