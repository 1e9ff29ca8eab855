#!/usr/bin/env bash
# `make test-chart`: the Helm chart (charts/sealed-secrets) with Helm itself (scripts/setup-helm.sh) and a real API
# server (scripts/cluster.sh up, no node; always torn down):
#   1. versions and copies: Chart.yaml and the default image follow the workspace version and `make image`'s name;
#      the chart's CRD is controller-manifests/crd.yaml;
#   2. helm lint --strict, with the defaults and with every values file of tests/chart/values/;
#   3. golden renders (helm template) of tests/chart/values/*.yaml and of Bitnami's chart 2.18.5 default values file,
#      against tests/chart/golden/ (UPDATE_GOLDEN=1 rewrites them);
#   4. values the chart must refuse: values.schema.json (wrong types, unknown keys) and the templates' own checks,
#      each with a message naming the value;
#   5. every container argument list rendered is accepted by our controller (sealed-secrets-controller ARGS --version);
#   6. on the API server: every golden render passes `kubectl apply --dry-run=server`; our render and Bitnami's chart
#      2.18.5's (same helm, same values) have the same objects, names, selector, Service ports and container arguments
#      for several release names, nameOverride and fullnameOverride (tests/chart/compare.py); and releases: the CRD
#      installed from crds/, kept by `helm uninstall` together with the key Secrets, an in-place `helm upgrade` from a
#      Bitnami chart release to ours (same Deployment, selector unchanged), a reinstall.
# Bitnami's chart comes from the Go module github.com/bitnami-labs/sealed-secrets@v0.36.6 (it carries chart 2.18.4;
# the three lines that differ in 2.18.5 are edited in a copy under the cache; never committed).
# Every failed check is listed at the end; the exit code is 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
CACHE=${SSRS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs}
CHART=charts/sealed-secrets
TESTS=tests/chart
RELEASE_NS=kube-system
log() { echo "test-chart: $*" >&2; }
die() { echo "test-chart: error: $*" >&2; exit 1; }

failures=()
pass() { echo "  ok    $*"; }
fail() { # fail WHAT [DETAILS...]: records a failed check and prints its details, indented
  local what=$1; shift
  echo "  FAIL  $what"
  if [ "$#" -gt 0 ]; then printf '%s\n' "$@" | sed 's/^/        /'; fi
  failures+=("$what")
}
section() { echo; echo "== $*"; }

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi
for t in python3 go; do command -v "$t" >/dev/null || die "'$t' is not installed"; done
HELM=$(scripts/setup-helm.sh | tail -n 1)
TESTBIN=$(scripts/setup-testbin.sh | tail -n 1)
KUBECTL=$TESTBIN/kubectl
[ -x "$KUBECTL" ] || die "kubectl is missing from $TESTBIN: run scripts/setup-testbin.sh"
log "building the controller (its argument parser judges the rendered arguments) ..."
"$CARGO" build -q -p sealed-secrets-controller --bin sealed-secrets-controller
CONTROLLER=$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/sealed-secrets-controller
[ -x "$CONTROLLER" ] || die "no controller binary at $CONTROLLER"

work=$(mktemp -d "${TMPDIR:-/tmp}/ssrs-chart.XXXXXX")
dir=""
cleanup() {
  local rc=$?
  if [ -n "$dir" ]; then scripts/cluster.sh down "$dir" >/dev/null 2>&1 || log "warning: cluster.sh down $dir failed"; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Helm keeps its configuration, cache and plugins here for this run only (never in ~/.config/helm).
export HELM_CONFIG_HOME=$work/helm/config HELM_CACHE_HOME=$work/helm/cache HELM_DATA_HOME=$work/helm/data
unset KUBECONFIG HELM_NAMESPACE HELM_KUBECONTEXT

# ---- Bitnami's chart 2.18.5, from the Go module (scripts/setup-helm.sh --bitnami-chart) ----------------------------
BITNAMI=$(scripts/setup-helm.sh --bitnami-chart | tail -n 1)
log "Bitnami's chart: $BITNAMI"

# The values files rendered as goldens: tests/chart/values/*.yaml, and Bitnami's default values file.
declare -A VALUES=()
for f in "$TESTS"/values/*.yaml; do VALUES[$(basename "$f" .yaml)]=$f; done
VALUES[bitnami-defaults]=$BITNAMI/values.yaml
CASES=$(printf '%s\n' "${!VALUES[@]}" | sort)

render() { # render OUT [helm template args...]: our chart as release sealed-secrets in kube-system
  local out=$1; shift
  "$HELM" template sealed-secrets "$CHART" --namespace "$RELEASE_NS" "$@" >"$out" 2>"$out.err"
}

# ---- 1. versions and copies ---------------------------------------------------------------------------------------
section "versions and copies"
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml","rb"))["workspace"]["package"]["version"])')
chart_v=$(awk '$1=="version:"{print $2}' "$CHART/Chart.yaml")
app_v=$(awk '$1=="appVersion:"{print $2}' "$CHART/Chart.yaml")
tag=$(awk '/^image:/{i=1} i && $1=="tag:"{gsub(/"/,"",$2); print $2; exit}' "$CHART/values.yaml")
if [ "$chart_v" = "$version" ] && [ "$app_v" = "$version" ] && [ "$tag" = "$version" ]; then
  pass "Chart.yaml version, appVersion and image.tag are the workspace version $version"
else
  fail "Chart.yaml version ($chart_v), appVersion ($app_v) and values.yaml image.tag ($tag) must all be the workspace version $version (Cargo.toml)"
fi
# scripts/image.sh names the image docker.io/${IMAGE_NAME:-<repository>}:<version>; the chart's default must be it.
image_repo=$(sed -n 's/.*name=docker\.io\/\${IMAGE_NAME:-\([^}]*\)}.*/\1/p' scripts/image.sh)
rendered_image=$("$HELM" template sealed-secrets "$CHART" --show-only templates/deployment.yaml | awk '$1=="image:"{print $2}')
if [ -n "$image_repo" ] && [ "$rendered_image" = "docker.io/$image_repo:$version" ]; then
  pass "default image $rendered_image is the one make image builds"
else
  fail "default image '$rendered_image' is not what make image builds (docker.io/$image_repo:$version, scripts/image.sh)"
fi
if cmp -s controller-manifests/crd.yaml "$CHART/crds/sealedsecrets.bitnami.com.yaml"; then
  pass "crds/sealedsecrets.bitnami.com.yaml is controller-manifests/crd.yaml"
else
  fail "$CHART/crds/sealedsecrets.bitnami.com.yaml differs from controller-manifests/crd.yaml: run make manifests"
fi

# ---- 2. lint ------------------------------------------------------------------------------------------------------
section "helm lint --strict"
for c in $CASES; do
  if out=$("$HELM" lint --strict "$CHART" --namespace "$RELEASE_NS" -f "${VALUES[$c]}" 2>&1); then
    pass "lint with $c"
  else
    fail "helm lint --strict with values $c" "$out"
  fi
done

# ---- 3. golden renders --------------------------------------------------------------------------------------------
section "golden renders (tests/chart/golden; UPDATE_GOLDEN=1 rewrites them)"
mkdir -p "$TESTS/golden"
for c in $CASES; do
  out=$work/render-$c.yaml
  if ! render "$out" -f "${VALUES[$c]}"; then
    fail "helm template with values $c" "$(cat "$out.err")"
    continue
  fi
  golden=$TESTS/golden/$c.yaml
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$out" "$golden"; pass "$golden written"
  elif [ ! -f "$golden" ]; then
    fail "$golden is missing: run UPDATE_GOLDEN=1 make test-chart and review it"
  elif diff -u "$golden" "$out" >"$work/diff" 2>&1; then
    pass "render of $c matches $golden"
  else
    fail "render of $c differs from $golden (if intended: UPDATE_GOLDEN=1 make test-chart, then review the diff)" \
      "$(head -60 "$work/diff")"
  fi
done

# Other values, each combination rendered here and passed through the server dry run below (not kept as goldens).
TOGGLES=(
  "createController=false"
  "rbac.create=false serviceAccount.create=false serviceAccount.name=existing-sa"
  "rbac.clusterRole=false rbac.serviceProxier.bind=false rbac.apiServerReader=false"
  "leaderElection.enabled=false replicaCount=1"
  "replicaCount=3 pdb.create=true pdb.minAvailable=50% pdb.maxUnavailable="
  "pdb.create=true pdb.minAvailable= pdb.maxUnavailable=1"
  "hostNetwork=true dnsPolicy=ClusterFirstWithHostNet containerPorts.http=9080 containerPorts.metrics=9081"
  "service.type=LoadBalancer service.nodePort=30443 service.loadBalancerClass=example.com/lb metrics.service.type=NodePort"
  "ingress.enabled=true ingress.tls=true ingress.selfSigned=true ingress.pathType=Prefix ingress.path=/v1"
  "ingress.enabled=true ingress.secrets[0].name=certs-tls ingress.secrets[0].key=KEY ingress.secrets[0].certificate=CERT"
  "metrics.dashboards.create=true metrics.serviceMonitor.enabled=true metrics.serviceMonitor.honorLabels=false"
  "livenessProbe.enabled=false readinessProbe.enabled=false customReadinessProbe.tcpSocket.port=http"
  "startupProbe.enabled=true containerSecurityContext.enabled=false podSecurityContext.enabled=false"
  "command[0]=sealed-secrets-controller args[0]=--update-status extraArgs[0]=--log-level=DEBUG"
  "image.registry= image.repository=registry.example.com/mirror/controller image.tag= image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  "extraDeploy[0].apiVersion=v1 extraDeploy[0].kind=ConfigMap extraDeploy[0].metadata.name=extra-config"
  "networkPolicy.enabled=true networkPolicy.egress.enabled=true networkPolicy.egress.kubeapiCidr=192.168.10.0/28"
  "namespace=kube-public nameOverride=seal"
)
for i in "${!TOGGLES[@]}"; do
  read -r -a sets <<<"${TOGGLES[$i]}"
  args=()
  for a in "${sets[@]}"; do args+=(--set "$a"); done
  if render "$work/toggle-$i.yaml" "${args[@]}"; then
    pass "renders with ${TOGGLES[$i]}"
  else
    fail "helm template with ${TOGGLES[$i]}" "$(cat "$work/toggle-$i.yaml.err")"
    rm -f "$work/toggle-$i.yaml"
  fi
done

# ---- 4. values the chart refuses ----------------------------------------------------------------------------------
section "values the chart refuses (schema and template checks)"
refuse() { # refuse WHAT EXPECTED-TEXT [helm template args...]: helm must fail with a message containing EXPECTED-TEXT
  local what=$1 expected=$2; shift 2
  local out
  if out=$("$HELM" template sealed-secrets "$CHART" --namespace "$RELEASE_NS" "$@" 2>&1 >/dev/null); then
    fail "$what: helm template accepted $*"
  elif grep -qF -- "$expected" <<<"$out"; then
    pass "$what: $(grep -F -- "$expected" <<<"$out" | head -1 | sed 's/^[[:space:]]*//' | cut -c1-150)"
  else
    fail "$what: the message does not contain '$expected'" "$out"
  fi
}
refuse "a string for an integer" "/replicaCount" --set replicaCount=two
refuse "a string for a boolean" "/createController" --set createController=yes
refuse "a number for a string" "/secretName" --set secretName=5
refuse "a map for a list" "/additionalNamespaces" --set additionalNamespaces.a=b
refuse "a value outside its set" "/image/pullPolicy" --set image.pullPolicy=Sometimes
refuse "an unknown top-level key" "'replicas'" --set replicas=2
refuse "an old chart's top-level key in a values file" "'crd'" -f <(printf 'crd:\n  create: true\n')
refuse "an unknown key of leaderElection" "'enable'" --set leaderElection.enable=false
refuse "a number as a key Secret label value" "/privateKeyLabels/backup" --set privateKeyLabels.backup=1
refuse "several replicas without leader election" "leaderElection.enabled is false" \
  --set replicaCount=2 --set leaderElection.enabled=false
refuse "several replicas of Bitnami's controller image" "runs one replica only" \
  --set replicaCount=2 --set image.repository=bitnami/sealed-secrets-controller
refuse "our flags with Bitnami's controller image" "--key-size" \
  --set keySize=2048 --set image.repository=bitnami/sealed-secrets-controller
refuse "an empty key Secret label value" "privateKeyLabels.backup must be a non-empty string" \
  --set-string privateKeyLabels.backup=
refuse "PodSecurityPolicy" "rbac.pspEnabled" --set rbac.pspEnabled=true
refuse "an old Ingress API" "ingress.apiVersion" --set ingress.enabled=true --set ingress.apiVersion=extensions/v1beta1
refuse "egress without the API server's address, rendered offline" "networkPolicy.egress.kubeapiCidr" \
  --set networkPolicy.enabled=true --set networkPolicy.egress.enabled=true

# ---- 5. arguments our controller accepts --------------------------------------------------------------------------
section "rendered arguments accepted by our controller (sealed-secrets-controller ARGS --version)"
container_args() { # container_args RENDER.yaml: the controller container's args of the Deployment, NUL-separated
  python3 - "$1" <<'EOF'
import re, sys
# The chart writes args as a YAML block list of scalars ("- --flag" / '- "value"'), one per line, under `args:`.
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out, inside, indent = [], False, None
for line in lines:
    if re.match(r"^\s+args:\s*$", line):
        inside, indent = True, None
        continue
    if inside:
        m = re.match(r"^(\s*)- (.*)$", line)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            v = m.group(2)
            if v.startswith('"'):
                import json
                v = json.loads(v)
            elif v.startswith("'"):
                v = v[1:-1].replace("''", "'")
            out.append(v)
        else:
            break
sys.stdout.write("\0".join(out))
EOF
}
check_args() { # check_args WHAT RENDER.yaml
  local what=$1 render=$2 out
  local -a args=()
  mapfile -d '' args < <(container_args "$render")
  if out=$("$CONTROLLER" "${args[@]}" --version 2>&1); then
    pass "$what: ${args[*]:-(none)}"
  else
    fail "$what: our controller refuses the rendered arguments: ${args[*]}" "$out"
  fi
}
for c in $CASES; do
  [ -s "$work/render-$c.yaml" ] && check_args "$c" "$work/render-$c.yaml"
done
for i in "${!TOGGLES[@]}"; do
  [ -s "$work/toggle-$i.yaml" ] && grep -q '^kind: Deployment' "$work/toggle-$i.yaml" && check_args "${TOGGLES[$i]}" "$work/toggle-$i.yaml"
done
render "$work/render-ours-flags.yaml" --set leaderElection.enabled=false --set keySize=3072 \
  --set keyOrderPriority=SecretCreationTimestamp --set reverifyPeriod=0 --set leaderElection.leaseName=ss-lease \
  --set extraArgs[0]=--trusted-proxies= && check_args "our values set" "$work/render-ours-flags.yaml"

# ---- 6. on the API server -----------------------------------------------------------------------------------------
section "on a real API server (scripts/cluster.sh up)"
dir=$(scripts/cluster.sh up | tail -n 1)
export KUBECONFIG=$dir/admin.kubeconfig
kc() { "$KUBECTL" "$@"; }
# The ServiceMonitor kind: the Prometheus Operator's CRD, from its Go module.
promop=$(GOTOOLCHAIN=local GOFLAGS= go mod download -json github.com/prometheus-operator/prometheus-operator@v0.85.0 \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
kc apply --server-side -f "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" >/dev/null
kc wait --for=condition=Established --timeout=60s crd/servicemonitors.monitoring.coreos.com >/dev/null
for ns in monitoring team-a team-b; do kc create namespace "$ns" >/dev/null; done  # kube-public exists

echo "-- every golden render through kubectl apply --dry-run=server"
for c in $CASES; do
  r=$work/render-$c.yaml
  [ -s "$r" ] || continue
  if out=$(kc apply --dry-run=server -f "$r" 2>&1); then
    pass "$c: $(grep -c 'created (server dry run)' <<<"$out") objects accepted"
  else
    fail "kubectl apply --dry-run=server of the $c render" "$out"
  fi
done

echo "-- other values through kubectl apply --dry-run=server"
for i in "${!TOGGLES[@]}"; do
  r=$work/toggle-$i.yaml
  [ -s "$r" ] || continue
  if out=$(kc apply --dry-run=server -f "$r" 2>&1); then
    pass "${TOGGLES[$i]}: $(grep -c 'created (server dry run)' <<<"$out") objects accepted"
  else
    fail "kubectl apply --dry-run=server with ${TOGGLES[$i]}" "$out"
  fi
done

echo "-- the same objects as Bitnami's chart 2.18.5 (tests/chart/compare.py)"
as_json() { kc apply --dry-run=client -o json -f "$1"; }
compare() { # compare RELEASE VALUES-FILE|- [KEY=VALUE...]: both charts, same helm, same values (-f and --set)
  local release=$1 values=$2; shift 2
  local ours=$work/cmp-ours.yaml theirs=$work/cmp-bitnami.yaml ns=$RELEASE_NS a
  local -a args=(--namespace "$RELEASE_NS")
  [ "$values" = - ] || args+=(-f "$values")
  for a in "$@"; do
    args+=(--set "$a")
    case $a in namespace=*) ns=${a#namespace=} ;; esac
  done
  local desc="release $release"
  [ "$values" = - ] || desc+=", values $(basename "$(dirname "$values")")/$(basename "$values")"
  [ "$#" = 0 ] || desc+=", $*"
  if ! "$HELM" template "$release" "$CHART" "${args[@]}" >"$ours" 2>"$ours.err"; then
    fail "$desc: our chart does not render" "$(cat "$ours.err")"; return
  fi
  if ! "$HELM" template "$release" "$BITNAMI" "${args[@]}" >"$theirs" 2>"$theirs.err"; then
    fail "$desc: Bitnami's chart does not render" "$(cat "$theirs.err")"; return
  fi
  as_json "$ours" >"$ours.json" 2>"$ours.json.err" || { fail "$desc: kubectl cannot read our render" "$(cat "$ours.json.err")"; return; }
  as_json "$theirs" >"$theirs.json" 2>"$theirs.json.err" || { fail "$desc: kubectl cannot read Bitnami's render" "$(cat "$theirs.json.err")"; return; }
  # What only ours renders, by design: the API server reader in `default`, and in namespaced mode the Role in the
  # controller's own namespace. The full name is the one Bitnami's chart derived (its Deployment's).
  local full
  full=$(python3 -c 'import json,sys
text=open(sys.argv[1]).read(); dec=json.JSONDecoder(); pos=0; items=[]
while pos < len(text.rstrip()):
    while text[pos].isspace(): pos += 1
    v, pos = dec.raw_decode(text, pos); items += v.get("items", []) if v.get("kind") == "List" else [v]
print(next(i["metadata"]["name"] for i in items if i["kind"] == "Deployment"))' "$theirs.json")
  local -a allow=(--allow-extra "Role/default/$full-api-server-reader" --allow-extra "RoleBinding/default/$full-api-server-reader")
  if [ "$values" != - ] && grep -q '^  namespacedRoles: true' "$values"; then
    allow+=(--allow-extra "Role/$ns/secrets-unsealer" --allow-extra "RoleBinding/$ns/$full")
  fi
  if out=$(python3 "$TESTS/compare.py" "$ours.json" "$theirs.json" --release "$release" --namespace "$ns" "${allow[@]}"); then
    pass "$desc: $out"
  else
    fail "$desc: differs from Bitnami's chart" "$out"
  fi
  check_args "$desc" "$ours"
}
compare sealed-secrets -
compare sealed-secrets "$BITNAMI/values.yaml"
compare sealed-secrets - fullnameOverride=sealed-secrets-controller
compare my-release -
compare my-release - nameOverride=vault
compare sealed-secrets-prod -
compare team - nameOverride=sealed
compare sealed - nameOverride=sealed
compare a-release-name-of-fifty-three-characters-for-the-test -
compare x - fullnameOverride=a-full-name-override-longer-than-sixty-three-characters-cut-at-x-here
compare sealed-secrets - namespace=security
compare sealed-secrets "$TESTS/values/bitnami-options.yaml"
compare my-release "$TESTS/values/bitnami-options.yaml" nameOverride=vault
compare sealed-secrets "$TESTS/values/namespaced.yaml"

echo "-- releases: CRD, key Secrets, in-place upgrade from Bitnami's chart, reinstall"
release_step() { # release_step WHAT CMD...: runs a helm/kubectl step, a failure is a failed check
  local what=$1 out; shift
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$out"; return 1; fi
}
set_args=(--namespace "$RELEASE_NS" --set fullnameOverride=sealed-secrets-controller)
releases() {
  release_step "helm install of our chart (kubeseal's default names)" \
    "$HELM" install sealed-secrets "$CHART" "${set_args[@]}" || return
  local crd_managed
  crd_managed=$(kc get crd sealedsecrets.bitnami.com -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}' 2>&1) \
    || { fail "the CRD is installed by helm install (from crds/)" "$crd_managed"; return; }
  if [ -z "$crd_managed" ]; then pass "the CRD is installed from crds/ and not part of the release"; \
  else fail "the CRD carries app.kubernetes.io/managed-by=$crd_managed: it must not be a release object"; fi
  for o in deployment/sealed-secrets-controller service/sealed-secrets-controller serviceaccount/sealed-secrets-controller \
           role/sealed-secrets-controller-key-admin role/sealed-secrets-controller-service-proxier; do
    kc -n "$RELEASE_NS" get "$o" >/dev/null 2>&1 || fail "helm install created $o"
  done
  # A key Secret as the controller creates it (never a release object).
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=test -days 1 2>/dev/null
  kc -n "$RELEASE_NS" create secret tls sealed-secrets-keytest1 --cert="$work/cert.pem" --key="$work/key.pem" >/dev/null
  kc -n "$RELEASE_NS" label secret sealed-secrets-keytest1 sealedsecrets.bitnami.com/sealed-secrets-key=active >/dev/null
  release_step "helm upgrade with changed values (replicaCount 2, PodDisruptionBudget)" \
    "$HELM" upgrade sealed-secrets "$CHART" "${set_args[@]}" --set replicaCount=2 --set pdb.create=true || return
  release_step "helm uninstall" "$HELM" uninstall sealed-secrets --namespace "$RELEASE_NS" || return
  kc get crd sealedsecrets.bitnami.com >/dev/null 2>&1 && pass "helm uninstall leaves the CRD" \
    || fail "helm uninstall removed the CRD"
  kc -n "$RELEASE_NS" get secret sealed-secrets-keytest1 >/dev/null 2>&1 && pass "helm uninstall leaves the key Secret" \
    || fail "helm uninstall removed the key Secret"
  kc -n "$RELEASE_NS" get deployment sealed-secrets-controller >/dev/null 2>&1 \
    && fail "helm uninstall left the Deployment" || pass "helm uninstall removes the release's objects"

  # Bitnami's chart first, then ours in place: the selector cannot change, so this fails if ours differs.
  release_step "helm install of Bitnami's chart 2.18.5" "$HELM" install sealed-secrets "$BITNAMI" "${set_args[@]}" || return
  local uid_before sel_before uid_after sel_after image
  uid_before=$(kc -n "$RELEASE_NS" get deployment sealed-secrets-controller -o jsonpath='{.metadata.uid}')
  sel_before=$(kc -n "$RELEASE_NS" get deployment sealed-secrets-controller -o jsonpath='{.spec.selector}')
  release_step "helm upgrade from Bitnami's chart 2.18.5 to ours, in place" \
    "$HELM" upgrade sealed-secrets "$CHART" "${set_args[@]}" || return
  uid_after=$(kc -n "$RELEASE_NS" get deployment sealed-secrets-controller -o jsonpath='{.metadata.uid}')
  sel_after=$(kc -n "$RELEASE_NS" get deployment sealed-secrets-controller -o jsonpath='{.spec.selector}')
  image=$(kc -n "$RELEASE_NS" get deployment sealed-secrets-controller -o jsonpath='{.spec.template.spec.containers[0].image}')
  if [ "$uid_before" = "$uid_after" ] && [ "$sel_before" = "$sel_after" ] && [ "$image" = "$rendered_image" ]; then
    pass "the upgrade updated the same Deployment (selector $sel_after) to $image"
  else
    fail "after the upgrade: uid $uid_before -> $uid_after, selector $sel_before -> $sel_after, image $image"
  fi
  kc -n "$RELEASE_NS" get secret sealed-secrets-keytest1 >/dev/null 2>&1 && pass "the key Secret is still there" \
    || fail "the key Secret is gone after the upgrade"
  release_step "helm uninstall" "$HELM" uninstall sealed-secrets --namespace "$RELEASE_NS" || return
  release_step "helm install again (existing CRD and key Secret)" "$HELM" install sealed-secrets "$CHART" "${set_args[@]}" || return
  kc -n "$RELEASE_NS" get secret sealed-secrets-keytest1 >/dev/null 2>&1 && pass "the key Secret is still there" \
    || fail "the key Secret is gone after the reinstall"
  release_step "helm uninstall" "$HELM" uninstall sealed-secrets --namespace "$RELEASE_NS" || return
}
releases || fail "the release checks stopped at the first failed step (above)"

echo
if [ "${#failures[@]}" -gt 0 ]; then
  echo "test-chart: ${#failures[@]} check(s) failed:"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "test-chart: all checks passed"
