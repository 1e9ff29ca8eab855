#!/usr/bin/env bash
# `make demo`: the real install path end to end on a throw-away local cluster, then everything is torn down.
#   1. build the controller image (make image) and kubeseal      5. wait until both replicas are Ready (their
#   2. build/reuse the test binaries and the node's (cached)        readiness probe: the keys are loaded)
#   3. start etcd + kube-apiserver + controller-manager +         6. seal examples/secret.yaml with kubeseal as an
#      scheduler and a real node (kubelet + containerd + runc)      ordinary user, through the service proxy
#   4. import the image into the node; kubectl apply -k          7. apply it, wait for the Secret, print it decoded
#      controller-manifests/ (the shipped manifests, unchanged)
# Needs root and a kernel that can run containers; `make demo-process` runs the controller as a local process instead.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
NS=kube-system
SVC=sealed-secrets-controller
t0=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "demo: error: $*" >&2; exit 1; }

step "1/7 building the controller image and kubeseal (release)"
image=$(CARGO=$CARGO scripts/image.sh | tail -n 1)
"$CARGO" build --release -p kubeseal --bin kubeseal
KUBESEAL=${CARGO_TARGET_DIR:-target}/release/kubeseal

step "2/7 test binaries (control plane, kubelet, containerd, runc; built once, then cached)"
scripts/ensure-tools.sh
BIN=$(scripts/setup-testbin.sh | tail -n 1)
scripts/setup-nodebin.sh >/dev/null

step "3/7 starting a local control plane and a node"
dir=""
cleanup() {
  local rc=$?
  if [ -n "$dir" ]; then
    if [ "$rc" != 0 ]; then
      echo "--- pods and controller logs ---" >&2
      kubectl get pods -n "$NS" -o wide >&2 || true
      kubectl logs -n "$NS" -l name=$SVC --tail=40 --prefix >&2 || true
    fi
    step "tearing down"
    scripts/cluster.sh down "$dir" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=$(scripts/cluster.sh up --node | tail -n 1)
kubectl() { "$BIN/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }
kubectl get nodes -o wide

step "4/7 importing the image into the node and installing controller-manifests/ with kubectl apply -k"
scripts/node.sh import "$dir" "$image"
kubectl apply -k controller-manifests/

step "5/7 waiting until both replicas are Ready (readiness: the sealing keys are loaded)"
for ((i = 0; ; i++)); do
  [ "$(kubectl get pods -n "$NS" -l name=$SVC -o name | wc -l)" -ge 2 ] && break
  [ "$i" -lt 120 ] || fail "the Deployment made no Pods within 60 s"
  sleep 0.5
done
kubectl wait pods -n "$NS" -l name=$SVC --for=condition=Ready --timeout=180s
kubectl get pods -n "$NS" -o wide
kubectl get lease $SVC -n "$NS" -o jsonpath='leader: {.spec.holderIdentity}{"\n"}'

step "6/7 sealing with kubeseal as an ordinary user (system:authenticated only), through the service proxy"
kubectl create serviceaccount demo-user -n default >/dev/null
scripts/cluster.sh sa-kubeconfig "$dir" default demo-user "$dir/user.kubeconfig"
"$KUBESEAL" --kubeconfig "$dir/user.kubeconfig" -o yaml <examples/secret.yaml >"$dir/sealed.yaml"
cat "$dir/sealed.yaml"

step "7/7 applying the SealedSecret and waiting for the controller to unseal it"
name=$(kubectl create --dry-run=client -o 'jsonpath={.metadata.name}' -f "$dir/sealed.yaml")
ns=$(kubectl create --dry-run=client -o 'jsonpath={.metadata.namespace}' -f "$dir/sealed.yaml")
ns=${ns:-default}
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl apply -f "$dir/sealed.yaml"
kubectl wait sealedsecret "$name" -n "$ns" --for=condition=Synced --timeout=60s
echo "Secret $ns/$name (decoded):"
kubectl get secret "$name" -n "$ns" \
  -o go-template='{{range $k, $v := .data}}  {{$k}}: {{$v | base64decode}}{{"\n"}}{{end}}'
echo "demo finished in $((SECONDS - t0))s"
