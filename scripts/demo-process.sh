#!/usr/bin/env bash
# `make demo-process`: the main job end to end with the controller as a local process (no node, no image: for machines
# where a kubelet cannot run; `make demo` installs the real image as Pods), then everything is torn down.
#   1. build our controller and kubeseal (release)       5. run our controller as a local process under the
#   2. build/reuse the test binaries (setup-testbin.sh)     restricted identity, behind Service kube-system/
#   3. start etcd + kube-apiserver + controller-manager     sealed-secrets-controller (port http)
#   4. apply the CRD, ServiceAccount, RBAC and Service   6. seal examples/secret.yaml with our kubeseal as an
#      from controller-manifests/ with kubectl              unprivileged user (certificate via the service proxy)
#                                                        7. apply it, wait for the Secret, print it decoded
# Assumed command lines (see docs/testing.md):
#   sealed-secrets-controller --kubeconfig FILE --listen-addr IP:PORT --listen-metrics-addr IP:PORT --key-renew-period 0
#   kubeseal --kubeconfig FILE --controller-namespace kube-system --controller-name sealed-secrets-controller -o yaml
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
NS=kube-system
SVC=sealed-secrets-controller
t0=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "demo: error: $*" >&2; exit 1; }

step "1/7 building sealed-secrets-controller and kubeseal (release)"
"$CARGO" build --release -p sealed-secrets-controller -p kubeseal
target=${CARGO_TARGET_DIR:-target}/release
CONTROLLER=$target/sealed-secrets-controller
KUBESEAL=$target/kubeseal
[ -x "$CONTROLLER" ] && [ -x "$KUBESEAL" ] || fail "missing $CONTROLLER or $KUBESEAL after the build"

step "2/7 test binaries (kube-apiserver, kubectl, etcd; built once, then cached)"
scripts/ensure-tools.sh
BIN=$(scripts/setup-testbin.sh | tail -n 1)

step "3/7 starting a local control plane"
dir=""
cleanup() {
  local rc=$?
  if [ -n "$dir" ]; then
    if [ "$rc" != 0 ] && [ -f "$dir/logs/controller.log" ]; then
      echo "--- controller log (last 40 lines) ---" >&2; tail -n 40 "$dir/logs/controller.log" >&2
    fi
    step "tearing down"
    scripts/cluster.sh down "$dir" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=$(scripts/cluster.sh up | tail -n 1)
kubectl() { "$BIN/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }
HOST_IP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_ip"])' "$dir/cluster.json")

step "4/7 installing the CRD, ServiceAccount, RBAC and Service from controller-manifests/"
[ -f controller-manifests/crd.yaml ] || fail "controller-manifests/crd.yaml is missing (make manifests)"
kubectl apply -f controller-manifests/crd.yaml -f controller-manifests/service-account.yaml \
  -f controller-manifests/rbac.yaml -f controller-manifests/service.yaml
kubectl wait --for=condition=Established crd/sealedsecrets.bitnami.com --timeout=60s

step "5/7 running our controller as ServiceAccount $NS/$SVC (TokenRequest token, shipped RBAC only)"
scripts/cluster.sh sa-kubeconfig "$dir" "$NS" "$SVC" "$dir/controller.kubeconfig"
port=$(scripts/cluster.sh free-port "$HOST_IP")
mport=$(scripts/cluster.sh free-port "$HOST_IP")
POD_NAMESPACE=$NS setsid "$CONTROLLER" --kubeconfig "$dir/controller.kubeconfig" \
  --listen-addr "$HOST_IP:$port" --listen-metrics-addr "$HOST_IP:$mport" --key-renew-period 0 \
  >"$dir/logs/controller.log" 2>&1 </dev/null &
scripts/cluster.sh track "$dir" controller "$!"
# The Service from service.yaml; the harness adds Endpoints for the local process (a veth address).
scripts/cluster.sh expose "$dir" "$NS" "$SVC" "$HOST_IP:$port" http
# Readiness, not liveness: /readyz answers 200 once a sealing key exists (the first one is generated at
# startup), so the certificate can be fetched; /healthz answers as soon as the process serves.
echo "controller listening on $HOST_IP:$port; waiting for /readyz through the service proxy ..."
for ((i = 0; ; i++)); do
  if kubectl get --raw "/api/v1/namespaces/$NS/services/http:$SVC:http/proxy/readyz" >/dev/null 2>&1; then break; fi
  if scripts/cluster.sh status "$dir" | grep -qx 'controller: not running'; then fail "the controller exited"; fi
  [ "$i" -lt 600 ] || fail "the controller was not ready (/readyz) within 120 s"
  sleep 0.2
done

step "6/7 sealing with our kubeseal as an ordinary user (system:authenticated only)"
input=examples/secret.yaml
if [ ! -f "$input" ]; then
  input=$dir/secret.yaml
  echo "(examples/secret.yaml not found; using a built-in example)"
  cat >"$input" <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: demo-credentials
  namespace: default
type: Opaque
stringData:
  username: admin
  password: correct-horse-battery-staple
YAML
fi
kubectl create serviceaccount demo-user -n default >/dev/null
scripts/cluster.sh sa-kubeconfig "$dir" default demo-user "$dir/user.kubeconfig"
"$KUBESEAL" --kubeconfig "$dir/user.kubeconfig" --controller-namespace "$NS" --controller-name "$SVC" -o yaml \
  <"$input" >"$dir/sealed.yaml"
cat "$dir/sealed.yaml"

step "7/7 applying the SealedSecret and waiting for the controller to unseal it"
name=$(kubectl create --dry-run=client -o 'jsonpath={.metadata.name}' -f "$dir/sealed.yaml")
ns=$(kubectl create --dry-run=client -o 'jsonpath={.metadata.namespace}' -f "$dir/sealed.yaml")
ns=${ns:-default}
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl apply -f "$dir/sealed.yaml"
for ((i = 0; ; i++)); do
  if kubectl get secret "$name" -n "$ns" >/dev/null 2>&1; then break; fi
  [ "$i" -lt 300 ] || fail "Secret $ns/$name did not appear within 60 s"
  sleep 0.2
done
echo "Secret $ns/$name (decoded):"
kubectl get secret "$name" -n "$ns" \
  -o go-template='{{range $k, $v := .data}}  {{$k}}: {{$v | base64decode}}{{"\n"}}{{end}}'
echo "demo finished in $((SECONDS - t0))s"
