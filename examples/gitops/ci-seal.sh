#!/usr/bin/env bash
# A CI step for the GitOps layout of docs/gitops.md: seals a plain Secret for one environment with only the
# controller's public certificate (no cluster access), adds it to the overlay's kustomization and commits it,
# the way a pipeline bumps an image tag with `kustomize edit`. The plain Secret never enters the repository.
#
#   ci-seal.sh CERT OVERLAY_DIR SECRET_FILE
#
#   CERT         the certificate (`kubeseal --fetch-cert > cert.pem`, committed or kept in CI's settings)
#   OVERLAY_DIR  the overlay in a Git work tree, e.g. overlays/staging (its kustomization sets the namespace)
#   SECRET_FILE  the plain Secret (YAML or JSON) from CI's secret store; "-" reads it from stdin
#
# The Secret's namespace must be the overlay's: strict scope binds the ciphertext to namespace and name.
# Needs kubeseal, kustomize and git on PATH. Writes OVERLAY_DIR/<name>.sealed.yaml; commits only that file and
# the kustomization (pushing is left to the pipeline).
set -euo pipefail
die() { echo "ci-seal: error: $*" >&2; exit 1; }
[ $# = 3 ] || die "usage: ci-seal.sh CERT OVERLAY_DIR SECRET_FILE"
cert=$1 overlay=$2 secret=$3
for tool in kubeseal kustomize git; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"
done
[ -f "$cert" ] || die "no certificate at $cert"
[ -f "$overlay/kustomization.yaml" ] || die "$overlay has no kustomization.yaml"
if [ "$secret" = - ]; then input=$(cat); else input=$(cat "$secret") || die "cannot read $secret"; fi

# Seal first, into memory: nothing is written if kubeseal refuses the input.
sealed=$(kubeseal --cert "$cert" --format yaml <<<"$input") || die "kubeseal refused the Secret"
name=$(sed -n 's/^  name: //p' <<<"$sealed" | head -n 1)
[ -n "$name" ] || die "the sealed output has no metadata.name"
file=$name.sealed.yaml
printf '%s\n' "$sealed" >"$overlay/$file"

cd "$overlay"
grep -qx -- "- $file\|  - $file" kustomization.yaml || kustomize edit add resource "$file"
git add -- "$file" kustomization.yaml
git commit -q -m "seal $name for $(basename "$PWD")" -- "$file" kustomization.yaml
echo "ci-seal: committed $overlay/$file" >&2
