#!/usr/bin/env bash
# A real Kubernetes node for the test control plane of scripts/cluster.sh: kubelet + containerd + runc (seccomp) +
# the bridge CNI plugin, so that Deployments run as real Pods from images imported into its containerd.
#
#   scripts/node.sh up DIR        start the node of the run in DIR (called by `cluster.sh up --node`)
#   scripts/node.sh down DIR      stop it and undo every host change (called by `cluster.sh down`)
#   scripts/node.sh import DIR ARCHIVE...   import OCI image archives into the node's containerd
#   scripts/node.sh ctr DIR ARGS...         ctr against the node's containerd (namespace k8s.io)
#
# Layout: the node has its own network namespace (ssrs-node) joined to the host by a veth pair (host 10.233.0.1,
# node 10.233.0.2); Pods get 10.232.0.0/24 on a bridge inside it, routed from the host. containerd runs in that
# namespace (entered with nsenter, which leaves /sys alone), the kubelet on the host, listening on 10.233.0.1.
# Pods reach the API server at its Service address 10.0.0.1:443: a DNAT rule in the node's namespace sends it to a
# socat forwarder on 10.233.0.1, which connects to the API server on 127.0.0.1.
#
# One node per machine at a time: the kubelet hard-codes host paths (/var/lib/kubelet/device-plugins,
# /var/log/containers, /var/lib/cni, /run/containerd), so `up` takes /run/lock/ssrs-node.lock (held by a process
# recorded like the others) and fails at once, naming the holder, when it is taken. Teardown undoes everything:
# containers and their shims (by the PIDs containerd recorded), the kubelet, containerd, the forwarder, every mount
# under the state dir, the kubepods cgroups, the network namespace and veth, the sysctls the kubelet changes
# (restored to the values recorded at `up`), and the host paths that did not exist before.
set -euo pipefail
# containerd and the kubelet create image and volume directories with the umask they inherit.
umask 022

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS=ssrs-node
HOST_VETH=ssrsnodeh NODE_VETH=ssrsnoden
HOST_IP=10.233.0.1 NODE_IP=10.233.0.2 POD_CIDR=10.232.0.0/24 POD_GW=10.232.0.1
NODE_NAME=ssrs-node
LOCK=/run/lock/ssrs-node.lock
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
# What the kubelet changes on the host (setupKernelTunables), restored on teardown.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes)
# Host paths the kubelet, CNI and containerd use whatever their configuration says; removed on teardown if absent
# before `up`.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /etc/cni /opt/cni)

log() { echo "node: $*" >&2; }
die() { echo "node: error: $*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. "$SCRIPTS/lib.sh"
nodebin() { "$SCRIPTS/setup-nodebin.sh" --print-dir; }
ctr_() { local d=$1; shift; "$(nodebin)/ctr" --address "$d/node/containerd/containerd.sock" -n k8s.io "$@"; }

free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }

tail_log() { tail -n "${2:-30}" "$1" 2>/dev/null | sed 's/^/    /'; }

wait_for() { # TIMEOUT WHAT PIDFILE CMD...: poll CMD; fail with the process's log tail if it exits or time runs out
  local timeout=$1 what=$2 pidfile=$3; shift 3
  local t0=$SECONDS log_file
  log_file="${pidfile%/pids/*}/logs/$(basename "$pidfile" .pid).log"
  until "$@" >/dev/null 2>&1; do
    if [ -z "$(pidfile_alive "$pidfile")" ]; then
      die "$what: the process exited; last log lines:"$'\n'"$(tail_log "$log_file")"
    fi
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then
      die "timed out after ${timeout}s waiting for $what; last log lines:"$'\n'"$(tail_log "$log_file")"
    fi
    sleep 0.3
  done
}

# ---- up -----------------------------------------------------------------------------------------------------
preflight() {
  local t
  for t in nsenter iptables socat flock ip findmnt; do
    command -v "$t" >/dev/null || die "'$t' is not installed (scripts/ensure-tools.sh installs it)"
  done
  [ "$(id -u)" = 0 ] || die "the node must run as root"
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || die "the kernel has no overlay filesystem"
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || die "no cgroup memory controller"
  local b
  for b in containerd containerd-shim-runc-v2 runc cni/bridge cni/loopback cni/host-local cni/portmap pause.oci.tar; do
    [ -e "$(nodebin)/$b" ] || die "$(nodebin)/$b is missing: run scripts/setup-nodebin.sh (make testbin)"
  done
  [ -x "$(jq_field "$1" testbin)/kubelet" ] || die "kubelet is missing: run scripts/setup-testbin.sh (make testbin)"
  # The kubelet evicts every Pod when its filesystem runs low (evictionHard below): refuse to start instead, with
  # the reason, rather than let the tests fail on evicted Pods.
  local free_mib
  free_mib=$(df -Pm "$1" | awk 'NR==2 {print $4}')
  [ "${free_mib:-0}" -ge 1024 ] \
    || die "only ${free_mib} MiB free on the filesystem of $1: the node needs at least 1 GiB (the kubelet evicts Pods below 256 MiB); free some space (e.g. cargo clean)"
}

take_lock() { # DIR: a process holding the machine-wide node lock for the run's lifetime
  local d=$1
  mkdir -p "$(dirname "$LOCK")"
  setsid bash -c 'exec 7>>"$1"; flock -n 7 || exit 99; printf "%s\n" "$2" >"$1.owner"; echo locked >"$3"; exec sleep infinity' \
    node-lock "$LOCK" "$d" "$d/node/lock-taken" >"$d/logs/node-lock.log" 2>&1 </dev/null &
  local pid=$! i
  for ((i = 0; i < 50; i++)); do
    [ -f "$d/node/lock-taken" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      die "another test node is running on this machine (run $(cat "$LOCK.owner" 2>/dev/null || echo unknown)); \
stop it with 'scripts/cluster.sh down <that dir>' (or 'make cluster-down'), or wait for it to finish"
    fi
    sleep 0.1
  done
  [ -f "$d/node/lock-taken" ] || die "could not take $LOCK"
  record_pid "$d" node-lock "$pid"
}

record_host_state() { # DIR: sysctls and which host paths exist, for teardown
  local d=$1 s p
  : >"$d/node/sysctls"
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")" >>"$d/node/sysctls"; done
  : >"$d/node/host-paths-created"
  for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] || echo "$p" >>"$d/node/host-paths-created"; done
}

network_up() { # DIR APISERVER_PORT
  local d=$1 ap=$2 fwd
  echo "$NETNS" >"$d/node/netns"
  veth_pair "$NETNS" "$HOST_VETH" "$NODE_VETH" "$HOST_IP/30" "$NODE_IP/30"
  ip -n "$NETNS" route add default via "$HOST_IP"
  ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_VETH"
  nsenter --net="/run/netns/$NETNS" sysctl -qw net.ipv4.ip_forward=1
  # The API server's Service address, for Pods: DNAT to the forwarder on the host end of the veth.
  fwd=$(free_port "$HOST_IP")
  nsenter --net="/run/netns/$NETNS" iptables -t nat -A PREROUTING -d 10.0.0.1/32 -p tcp --dport 443 \
    -j DNAT --to-destination "$HOST_IP:$fwd"
  spawn "$d" node-apiserver-forwarder socat "TCP-LISTEN:$fwd,bind=$HOST_IP,fork,reuseaddr" "TCP:127.0.0.1:$ap"
  echo "$fwd" >"$d/node/forwarder-port"
}

write_containerd_config() { # DIR
  local d=$1 n=$1/node bin; bin=$(nodebin)
  mkdir -p "$n/containerd/root" "$n/containerd/state" "$n/containerd/tmp" "$n/cni/conf" "$n/cni/ipam"
  cat >"$n/containerd/config.toml" <<EOF
version = 3
root = "$n/containerd/root"
state = "$n/containerd/state"
temp = "$n/containerd/tmp"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$n/containerd/containerd.sock"
[ttrpc]
  address = "$n/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$bin/cni"]
      conf_dir = "$n/cni/conf"
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$bin/runc"
          SystemdCgroup = false
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
  cat >"$n/cni/conf/10-ssrs-bridge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ssrs-pods",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$n/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

containerd_up() { # DIR
  local d=$1 bin; bin=$(nodebin)
  spawn "$d" node-containerd env PATH="$bin:$PATH" nsenter --net="/run/netns/$NETNS" \
    "$bin/containerd" --config "$d/node/containerd/config.toml"
  wait_for 60 "containerd" "$d/pids/node-containerd.pid" ctr_ "$d" version
  ctr_ "$d" images import --all-platforms "$bin/pause.oci.tar" >/dev/null \
    || die "importing the pause image into containerd failed"
}

kubelet_up() { # DIR
  local d=$1 n=$1/node bin port hport
  bin=$(jq_field "$d" testbin)
  port=$(free_port "$HOST_IP")
  hport=$(free_port 127.0.0.1)
  mkdir -p "$n/kubelet/root" "$n/kubelet/pki" "$n/pod-logs"
  cat >"$n/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$n/containerd/containerd.sock
address: $HOST_IP
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $hport
podLogsDir: $n/pod-logs
resolvConf: ""
failSwapOn: false
protectKernelDefaults: false
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
evictionHard: {memory.available: 100Mi, nodefs.available: 256Mi, imagefs.available: 256Mi, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 5s
nodeStatusReportFrequency: 10s
serializeImagePulls: false
maxPods: 50
EOF
  # SSRS_NODE_KUBELET_ARGS: extra kubelet flags (scripts/test-node-faults.sh uses it to make the kubelet fail).
  # shellcheck disable=SC2086 # one word per flag
  spawn "$d" node-kubelet "$bin/kubelet" --config="$n/kubelet/config.yaml" --kubeconfig="$d/admin.kubeconfig" \
    --root-dir="$n/kubelet/root" --cert-dir="$n/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$HOST_IP" \
    --v=1 ${SSRS_NODE_KUBELET_ARGS:-}
  wait_for 90 "the kubelet (/healthz)" "$d/pids/node-kubelet.pid" curl -fsS "http://127.0.0.1:$hport/healthz"
  node_ready() { [ "$(kc "$d" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
  wait_for 90 "node $NODE_NAME Ready" "$d/pids/node-kubelet.pid" node_ready
  # The node-lifecycle controller removes the not-ready taint once the node is Ready.
  untainted() { [ -z "$(kc "$d" get node "$NODE_NAME" -o jsonpath='{.spec.taints}')" ]; }
  wait_for 60 "the not-ready taint to go from $NODE_NAME" "$d/pids/node-kubelet.pid" untainted
}

cmd_up() {
  local d; d=$(cd "$1" && pwd)
  [ -f "$d/cluster.json" ] || die "$d is not a running cluster's state dir"
  mkdir -p "$d/node"
  preflight "$d"
  take_lock "$d"
  local t0=$SECONDS
  trap 'rc=$?; log "start failed; tearing the node down"; cmd_down "$d" || true; exit $rc' EXIT
  record_host_state "$d"
  network_up "$d" "$(jq_field "$d" apiserver_port)"
  write_containerd_config "$d"
  containerd_up "$d"
  kubelet_up "$d"
  python3 - "$d/node/node.json" <<EOF
import json, sys
json.dump({"name": "$NODE_NAME", "netns": "$NETNS", "host_ip": "$HOST_IP", "node_ip": "$NODE_IP",
           "pod_cidr": "$POD_CIDR", "containerd_socket": "$d/node/containerd/containerd.sock",
           "nodebin": "$(nodebin)"}, open(sys.argv[1], "w"), indent=2)
EOF
  trap - EXIT
  log "node $NODE_NAME Ready in $((SECONDS - t0))s (pods $POD_CIDR in netns $NETNS)"
}

# ---- down ---------------------------------------------------------------------------------------------------
stop_containers() { # DIR: every task in the node's containerd, then the shims it recorded
  local d=$1 id pidf pid
  if [ -n "$(pidfile_alive "$d/pids/node-containerd.pid" 2>/dev/null)" ]; then
    for id in $(ctr_ "$d" tasks ls -q 2>/dev/null); do
      ctr_ "$d" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for id in $(ctr_ "$d" tasks ls -q 2>/dev/null); do ctr_ "$d" tasks delete -f "$id" >/dev/null 2>&1 || true; done
  fi
  # Shims (and what they still hold) outlive containerd: stop the ones whose PIDs containerd wrote in our state dir,
  # after checking that the process is a shim of this state dir.
  for pidf in "$d"/node/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$pidf" ] || continue
    pid=$(cat "$pidf")
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "containerd-shim-runc-v2.*$d/node/containerd"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

unmount_under() { # PATH: unmount everything mounted below PATH, deepest first
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | grep "^$1/" | sort -r)
}

remove_cgroups() { # the kubepods hierarchy the kubelet made (cgroup v1 controllers, or the unified tree)
  local c
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods.slice /sys/fs/cgroup/kubepods.slice; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

cmd_down() {
  local d; d=$(cd "$1" && pwd)
  [ -d "$d/node" ] || return 0
  stop_pidfiles "$d/pids/node-kubelet.pid"
  stop_containers "$d"
  stop_pidfiles "$d/pids/node-containerd.pid"
  stop_pidfiles "$d/pids/node-apiserver-forwarder.pid"
  unmount_under "$d/node"
  remove_cgroups
  if [ -f "$d/node/netns" ]; then
    ip link del "$HOST_VETH" 2>/dev/null || true
    ip netns del "$(cat "$d/node/netns")" 2>/dev/null || true
  fi
  if [ -f "$d/node/sysctls" ]; then
    local kv
    while read -r kv; do sysctl -qw "$kv" >/dev/null 2>&1 || log "could not restore $kv"; done <"$d/node/sysctls"
  fi
  if [ -f "$d/node/host-paths-created" ]; then
    local p
    while read -r p; do
      [ -n "$p" ] || continue
      unmount_under "$p"
      rm -rf "$p"
    done <"$d/node/host-paths-created"
  fi
  stop_pidfiles "$d/pids/node-lock.pid"
  rm -rf "$d/node"
  log "node down"
}

cmd_import() { # DIR ARCHIVE...
  local d=$1 a; shift
  for a in "$@"; do
    [ -f "$a" ] || die "$a: no such image archive"
    ctr_ "$d" images import "$a" >/dev/null || die "importing $a into the node's containerd failed"
  done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  import) cmd_import "$@" ;;
  ctr) d=$1; shift; ctr_ "$d" "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
