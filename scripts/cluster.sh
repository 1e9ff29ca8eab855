#!/usr/bin/env bash
# A throw-away Kubernetes control plane on loopback for end-to-end tests and the demo:
# etcd + kube-apiserver + kube-controller-manager (binaries from scripts/setup-testbin.sh), generated certificates,
# an admin kubeconfig, and a network namespace + veth pair whose host-side address can back selector-less Services
# (the API server's service proxy refuses loopback endpoints).
#
# Usage:
#   scripts/cluster.sh up [--current] [--watch-pid PID] [--node]  start one; prints its state dir (last stdout line);
#                                          --node adds kube-scheduler, the controllers Deployments need, ServiceAccount
#                                          admission and a real node (scripts/node.sh: kubelet, containerd, runc)
#   scripts/cluster.sh down [DIR]          stop it: kill only its own PIDs, delete its netns and state dir
#   scripts/cluster.sh env [DIR]           print `export ...` lines (SSRS_CLUSTER_DIR, KUBECONFIG, ...)
#   scripts/cluster.sh status [DIR]        show its processes and addresses
#   scripts/cluster.sh sa-kubeconfig DIR NS SA OUT   TokenRequest token for NS/SA -> kubeconfig OUT
#   scripts/cluster.sh in-cluster-dir DIR NS SA POD_NS OUT   token, ca.crt, namespace files for in-cluster clients
#   scripts/cluster.sh expose DIR NS NAME IP:PORT [PORT_NAME]  selector-less Service + Endpoints + EndpointSlice
#   scripts/cluster.sh free-port IP        print a free TCP port on IP
#   scripts/cluster.sh track DIR NAME PID  record an extra PID that `down` must stop
#   scripts/cluster.sh reap                clean up state dirs of runs whose processes are all gone
# DIR defaults to $SSRS_CLUSTER_DIR, then to the run marked by `up --current` (used by make cluster-up/down).
#
# State lives in ${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}/run/<id>/: pki/, etcd/, logs/, pids/,
# admin.kubeconfig, cluster.json, env. PIDs are stored with their start time, so a recycled PID is never killed.
# Ports are picked at run time and each run has its own 10.231.X.0/30 veth subnet, so runs never collide.
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SSRS_CACHE_DIR:-$HOME/.cache/sealed-secrets-rs}
RUNS=$CACHE/run
START_TIMEOUT=${SSRS_START_TIMEOUT:-120}

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

# ---- shared with node.sh: PIDs (record_pid, stop_pidfiles, spawn, ...), jq_field, kc, veth_pair ----------
# shellcheck source=scripts/lib.sh
. "$SCRIPTS/lib.sh"

# ---- helpers ----------------------------------------------------------------------------------------------
free_ports() { # N [IP] -> N distinct free TCP ports on IP (default 127.0.0.1), one per line
  python3 - "$1" "${2:-127.0.0.1}" <<'EOF'
import socket, sys
n, ip = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(n):
    s = socket.socket(); s.bind((ip, 0)); socks.append(s)
for s in socks: print(s.getsockname()[1])
EOF
}

resolve_dir() { # [DIR] -> the state dir to act on
  local d=${1:-${SSRS_CLUSTER_DIR:-}}
  if [ -z "$d" ] && [ -L "$RUNS/current" ]; then d=$(readlink -f "$RUNS/current"); fi
  [ -n "$d" ] || die "no cluster given: pass its dir, set SSRS_CLUSTER_DIR, or run 'make cluster-up'"
  [ -d "$d" ] || die "no cluster state dir $d"
  echo "$d"
}


testbin_dir() {
  local d=${SSRS_TESTBIN:-}
  if [ -z "$d" ]; then d=$("$SCRIPTS/setup-testbin.sh" --print-dir); fi
  local b
  for b in etcd kube-apiserver kube-controller-manager kubectl; do
    [ -x "$d/$b" ] || die "$d/$b is missing: run 'make testbin' (scripts/setup-testbin.sh) first"
  done
  echo "$d"
}

wait_until() { # TIMEOUT DESCRIPTION PIDFILE CMD...: poll CMD every 0.2 s; fail early if PIDFILE's process died
  local timeout=$1 what=$2 pidfile=$3; shift 3
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pidfile" ] && [ -z "$(pidfile_alive "$pidfile")" ]; then
      die "$what: the process exited; last log lines:"$'\n'"$(tail -n 30 "${pidfile%/pids/*}/logs/$(basename "$pidfile" .pid).log" 2>/dev/null)"
    fi
    [ $((SECONDS - t0)) -lt "$timeout" ] || die "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}

# ---- network namespace ------------------------------------------------------------------------------------
netns_setup() { # DIR ID: allocate a free 10.231.X.0/30 slot under a lock, create netns + veth
  local d=$1 id=$2 x ns="ssrs-$2"
  exec 9>"$RUNS/.netns.lock"
  flock 9
  for ((x = 0; x < 256; x++)); do
    if ! ip link show "ssrs${x}h" >/dev/null 2>&1 && ! ip -4 addr show | grep -q "inet 10\.231\.$x\."; then break; fi
  done
  [ "$x" -lt 256 ] || die "no free 10.231.X.0/30 slot (256 runs alive?)"
  local host="ssrs${x}h" peer="ssrs${x}n"
  echo "$ns" >"$d/netns"
  echo "$host" >"$d/veth"
  veth_pair "$ns" "$host" "$peer" "10.231.$x.1/30" "10.231.$x.2/30"
  flock -u 9
  exec 9>&-
  NETNS=$ns HOST_IP=10.231.$x.1 NETNS_IP=10.231.$x.2
}

netns_teardown() { # DIR
  local d=$1
  if [ -f "$d/netns" ]; then ip netns del "$(cat "$d/netns")" 2>/dev/null || true; fi
  if [ -f "$d/veth" ]; then ip link del "$(cat "$d/veth")" 2>/dev/null || true; fi
  rm -f "$d/netns" "$d/veth"
}

# ---- certificates -----------------------------------------------------------------------------------------
make_pki() { # DIR HOST_IP
  local p=$1/pki
  mkdir -p "$p"
  (
    cd "$p"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -subj "/CN=ssrs-test-ca" -days 30 -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out apiserver.key 2>/dev/null
    openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
    printf '%s\n' \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,IP:$2,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
      -days 30 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f apiserver.csr apiserver.ext
  )
  chmod 600 "$p"/*.key
}

write_kubeconfig() ( # OUT SERVER CAFILE TOKEN USER (a subshell: the umask stays here)
  umask 077
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ssrs
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: $5
  user:
    token: $4
contexts:
- name: $5@ssrs
  context:
    cluster: ssrs
    user: $5
    namespace: default
current-context: $5@ssrs
EOF
)

# ---- up / down --------------------------------------------------------------------------------------------
cmd_up() {
  local current=0 watch_pid="" node=0
  while [ $# -gt 0 ]; do
    case $1 in
      --current) current=1 ;;
      --node) node=1 ;;
      --watch-pid) watch_pid=$2; shift ;;
      *) die "up: unknown argument $1" ;;
    esac
    shift
  done
  for t in ip unshare openssl curl python3 setsid flock; do
    command -v "$t" >/dev/null || die "'$t' is not installed (scripts/ensure-tools.sh installs it)"
  done
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, veth, mount namespaces)"
  local bin; bin=$(testbin_dir)
  mkdir -p "$RUNS"
  cmd_reap
  local t0=$SECONDS id d
  id=$(date +%s)-$$
  d=$RUNS/$id
  mkdir -p "$d/logs" "$d/pids" "$d/etcd"
  chmod 700 "$d"
  UP_DIR=$d
  trap 'rc=$?; if [ -n "${UP_DIR:-}" ]; then log "start failed; cleaning up $UP_DIR"; down_dir "$UP_DIR"; fi; exit $rc' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  netns_setup "$d" "$id"
  make_pki "$d" "$HOST_IP"
  local token; token=$(openssl rand -hex 32)
  echo "$token" >"$d/admin.token"
  echo "$token,admin,admin-uid,\"system:masters\"" >"$d/tokens.csv"
  chmod 600 "$d/admin.token" "$d/tokens.csv"
  cat >"$d/audit-policy.yaml" <<'EOF'
# Logs requests of ServiceAccounts (the restricted controller identities) only: find 403s with
#   grep '"code":403' audit.log
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  userGroups: ["system:serviceaccounts"]
- level: None
EOF
  # Process mode: no ServiceAccount admission (no Pod runs; stand-in Pods need no token). Node mode: Pods get their
  # ServiceAccount's token, the API server reaches kubelets by their InternalIP.
  local mode_flags=(--disable-admission-plugins=ServiceAccount)
  local controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller
  if [ "$node" = 1 ]; then
    mode_flags=(--kubelet-preferred-address-types=InternalIP)
    controllers+=,node-lifecycle-controller,deployment-controller,replicaset-controller,endpoints-controller,endpointslice-controller,disruption-controller
  fi
  local ports ep pp ap
  ports=$(free_ports 3)
  { read -r ep; read -r pp; read -r ap; } <<<"$ports"
  local url=https://127.0.0.1:$ap

  spawn "$d" etcd "$bin/etcd" --name=ssrs --data-dir="$d/etcd" \
    --listen-client-urls="http://127.0.0.1:$ep" --advertise-client-urls="http://127.0.0.1:$ep" \
    --listen-peer-urls="http://127.0.0.1:$pp" --initial-advertise-peer-urls="http://127.0.0.1:$pp" \
    --initial-cluster="ssrs=http://127.0.0.1:$pp" --unsafe-no-fsync=true --log-level=warn
  wait_until 30 "etcd health" "$d/pids/etcd.pid" curl -fsS "http://127.0.0.1:$ep/health"
  local t_etcd=$((SECONDS - t0))

  spawn "$d" kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ep" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$ap" \
    --tls-cert-file="$d/pki/apiserver.crt" --tls-private-key-file="$d/pki/apiserver.key" \
    --client-ca-file="$d/pki/ca.crt" --token-auth-file="$d/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$d/pki/sa.pub" --service-account-signing-key-file="$d/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    "${mode_flags[@]}" \
    --endpoint-reconciler-type=none \
    --allow-privileged=true --profiling=false \
    --audit-policy-file="$d/audit-policy.yaml" --audit-log-path="$d/logs/audit.log"
  wait_until "$START_TIMEOUT" "kube-apiserver /readyz" "$d/pids/kube-apiserver.pid" \
    curl -fsS --cacert "$d/pki/ca.crt" -H "Authorization: Bearer $token" "$url/readyz"
  wait_until 30 "the default namespace" "$d/pids/kube-apiserver.pid" \
    curl -fsS --cacert "$d/pki/ca.crt" -H "Authorization: Bearer $token" "$url/api/v1/namespaces/default"
  local t_api=$((SECONDS - t0))
  write_kubeconfig "$d/admin.kubeconfig" "$url" "$d/pki/ca.crt" "$token" admin

  spawn "$d" kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$d/admin.kubeconfig" --leader-elect=false \
    --controllers="$controllers" \
    --service-account-private-key-file="$d/pki/sa.key" --root-ca-file="$d/pki/ca.crt" \
    --use-service-account-credentials=false --bind-address=127.0.0.1 --secure-port=0
  # The root-CA publisher writes kube-root-ca.crt into every namespace: proof that KCM is up and working.
  wait_until 60 "kube-controller-manager (kube-root-ca.crt in default)" "$d/pids/kube-controller-manager.pid" \
    curl -fsS --cacert "$d/pki/ca.crt" -H "Authorization: Bearer $token" "$url/api/v1/namespaces/default/configmaps/kube-root-ca.crt"

  python3 - "$d/cluster.json" <<EOF
import json, sys
json.dump({
    "id": "$id", "dir": "$d", "testbin": "$bin", "scripts": "$SCRIPTS",
    "server": "$url", "apiserver_port": $ap, "etcd_port": $ep,
    "kubeconfig": "$d/admin.kubeconfig", "ca_file": "$d/pki/ca.crt", "admin_token_file": "$d/admin.token",
    "netns": "$NETNS", "host_ip": "$HOST_IP", "netns_ip": "$NETNS_IP", "node": bool($node),
}, open(sys.argv[1], "w"), indent=2)
EOF
  if [ "$node" = 1 ]; then
    spawn "$d" kube-scheduler "$bin/kube-scheduler" --kubeconfig="$d/admin.kubeconfig" --leader-elect=false \
      --bind-address=127.0.0.1 --secure-port=0
    "$SCRIPTS/node.sh" up "$d"
  fi
  cat >"$d/env" <<EOF
export SSRS_CLUSTER_DIR='$d'
export SSRS_KUBECONFIG='$d/admin.kubeconfig'
export KUBECONFIG='$d/admin.kubeconfig'
export SSRS_TESTBIN='$bin'
export SSRS_APISERVER='$url'
export SSRS_NETNS='$NETNS'
export SSRS_HOST_IP='$HOST_IP'
export SSRS_NETNS_IP='$NETNS_IP'
export SSRS_NODE='$node'
export PATH='$bin':"\$PATH"
EOF
  if [ "$current" = 1 ]; then ln -sfn "$d" "$RUNS/current"; fi
  if [ -n "$watch_pid" ]; then
    # Tears the cluster down once PID (e.g. a test binary that started it) exits.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3"' \
      watchdog "$watch_pid" "$SCRIPTS/cluster.sh" "$d" >"$d/logs/watchdog.log" 2>&1 </dev/null &
    record_pid "$d" watchdog "$!"
  fi
  UP_DIR=""
  trap - EXIT INT TERM
  log "up in $((SECONDS - t0))s (etcd ${t_etcd}s, kube-apiserver ready at ${t_api}s): $url, netns $NETNS, host $HOST_IP"
  echo "$d"
}

down_dir() { # DIR: stop everything the run started, delete its netns and state dir
  local d=$1
  [ -d "$d/pids" ] || { rm -rf "$d"; return 0; }
  # The node first, while the API server still runs: it undoes its own host changes (scripts/node.sh).
  if [ -d "$d/node" ]; then "$SCRIPTS/node.sh" down "$d" || log "node teardown reported an error (see above)"; fi
  # Test-started processes (controllers, backends) first, then the control plane in reverse order.
  local extras=()
  for f in "$d"/pids/*.pid; do
    case $(basename "$f") in etcd.pid | kube-apiserver.pid | kube-controller-manager.pid | watchdog.pid) ;; *) [ -f "$f" ] && extras+=("$f") ;; esac
  done
  stop_pidfiles "${extras[@]}" "$d/pids/kube-controller-manager.pid"
  stop_pidfiles "$d/pids/kube-apiserver.pid"
  stop_pidfiles "$d/pids/etcd.pid"
  stop_pidfiles "$d/pids/watchdog.pid"
  netns_teardown "$d"
  if [ "$(readlink -f "$RUNS/current" 2>/dev/null)" = "$(readlink -f "$d")" ]; then rm -f "$RUNS/current"; fi
  if [ "${SSRS_KEEP_CLUSTER_DIR:-0}" = 1 ]; then
    log "kept $d (SSRS_KEEP_CLUSTER_DIR=1)"
  else
    rm -rf "$d"
  fi
}

cmd_down() {
  local d; d=$(resolve_dir "${1:-}")
  down_dir "$d"
  log "down: $d"
}

cmd_reap() { # state dirs whose control-plane processes are all gone (killed test runs): clean them up
  local d f alive
  for d in "$RUNS"/*/; do
    [ -d "$d/pids" ] || continue
    alive=0
    for f in "$d"/pids/*.pid; do [ -f "$f" ] && [ -n "$(pidfile_alive "$f")" ] && alive=1; done
    # A run still starting has no cluster.json yet: leave it alone unless it is clearly stale.
    if [ "$alive" = 0 ] && { [ -f "$d/cluster.json" ] || [ -n "$(find "$d" -maxdepth 0 -mmin +15)" ]; }; then
      log "reaping dead run ${d%/}"
      down_dir "${d%/}"
    fi
  done
}

# ---- identities and services ------------------------------------------------------------------------------
cmd_sa_kubeconfig() { # DIR NS SA OUT: TokenRequest (1 h) for NS/SA and a kubeconfig holding it
  local d=$1 ns=$2 sa=$3 out=$4 token
  token=$(kc "$d" create token "$sa" -n "$ns" --duration=1h)
  write_kubeconfig "$out" "$(jq_field "$d" server)" "$d/pki/ca.crt" "$token" "$sa"
}

cmd_in_cluster_dir() { # DIR NS SA POD_NS OUT: files for /var/run/secrets/kubernetes.io/serviceaccount
  local d=$1 ns=$2 sa=$3 podns=$4 out=$5
  mkdir -p "$out"
  kc "$d" create token "$sa" -n "$ns" --duration=1h >"$out/token"
  cp "$d/pki/ca.crt" "$out/ca.crt"
  printf '%s' "$podns" >"$out/namespace"
}

cmd_expose() { # DIR NS NAME IP:PORT [PORT_NAME]: route the service proxy for NS/NAME to a local process
  # The API server proxies only to Endpoints addresses that refer to a Pod with that IP in status.podIPs
  # (and never to loopback): so a stand-in Pod (never scheduled) carries the veth address. The Service is
  # created (selector-less, port PORT_NAME=8080) only if it does not exist, e.g. from service.yaml.
  local d=$1 ns=$2 name=$3 ip=${4%:*} port=${4##*:} pname=${5:-http} uid
  if ! kc "$d" get service "$name" -n "$ns" >/dev/null 2>&1; then
    kc "$d" create -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: $ns}
spec:
  ports: [{name: $pname, port: 8080, targetPort: $port, protocol: TCP}]
EOF
  fi
  kc "$d" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name-local
  namespace: $ns
  labels: {name: $name}
  annotations: {sealed-secrets-rs/e2e: "stand-in for a local process at $ip:$port"}
spec:
  automountServiceAccountToken: false
  containers: [{name: local-process, image: local.invalid/local-process}]
EOF
  kc "$d" patch pod "$name-local" -n "$ns" --subresource=status --type=merge \
    -p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$ip\",\"podIPs\":[{\"ip\":\"$ip\"}]}}" >/dev/null
  uid=$(kc "$d" get pod "$name-local" -n "$ns" -o jsonpath='{.metadata.uid}')
  kc "$d" apply -f - >/dev/null 2>&1 <<EOF
apiVersion: v1
kind: Endpoints
metadata: {name: $name, namespace: $ns}
subsets:
- addresses: [{ip: "$ip", targetRef: {kind: Pod, namespace: $ns, name: $name-local, uid: "$uid"}}]
  ports: [{name: $pname, port: $port, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-ssrs
  namespace: $ns
  labels: {kubernetes.io/service-name: $name, endpointslice.kubernetes.io/managed-by: ssrs-test-harness}
addressType: IPv4
endpoints:
- addresses: ["$ip"]
  conditions: {ready: true}
  targetRef: {kind: Pod, namespace: $ns, name: $name-local, uid: "$uid"}
ports: [{name: $pname, port: $port, protocol: TCP}]
EOF
}

cmd_track() { # DIR NAME PID
  record_pid "$1" "$2" "$3"
}

# ---- dispatch ---------------------------------------------------------------------------------------------
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  env) cat "$(resolve_dir "${1:-}")/env" ;;
  status)
    d=$(resolve_dir "${1:-}")
    for f in "$d"/pids/*.pid; do
      [ -f "$f" ] || continue
      p=$(pidfile_alive "$f")
      echo "$(basename "$f" .pid): ${p:-not running}"
    done
    cat "$d/cluster.json"
    ;;
  sa-kubeconfig) cmd_sa_kubeconfig "$@" ;;
  in-cluster-dir) cmd_in_cluster_dir "$@" ;;
  expose) cmd_expose "$@" ;;
  free-port) free_ports 1 "${1:-127.0.0.1}" ;;
  track) cmd_track "$@" ;;
  reap) mkdir -p "$RUNS"; cmd_reap ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
