# Sourced by scripts/cluster.sh and scripts/node.sh. Callers define log and die.
#   processes recorded by PID and start time, so that only the exact processes a run started are ever stopped
#   (a recycled PID is never killed): proc_start_time, record_pid, pidfile_alive, stop_pidfiles, spawn;
#   the run's state: jq_field, kc; networking: veth_pair.

jq_field() { # DIR KEY -> value from DIR/cluster.json
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/cluster.json" "$2"
}

kc() { # DIR KUBECTL-ARGS...: kubectl as admin
  local d=$1; shift
  "$(jq_field "$d" testbin)/kubectl" --kubeconfig "$d/admin.kubeconfig" "$@"
}

veth_pair() { # NETNS HOST_IF NS_IF HOST_IP/PREFIX NS_IP/PREFIX: a new network namespace joined to the host
  ip netns add "$1"
  ip link add "$2" type veth peer name "$3" netns "$1"
  ip addr add "$4" dev "$2"
  ip link set "$2" up
  ip -n "$1" addr add "$5" dev "$3"
  ip -n "$1" link set "$3" up
  ip -n "$1" link set lo up
}

proc_start_time() { # PID -> start time in clock ticks since boot (field 22 of /proc/PID/stat), empty if gone
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) } # drop "pid (comm) ", comm may contain spaces
  awk '{print $20}' <<<"$s"
}

record_pid() { # DIR NAME PID: write "PID STARTTIME" to DIR/pids/NAME.pid
  local st; st=$(proc_start_time "$3")
  [ -n "$st" ] || die "process $2 (pid $3) exited immediately; see $1/logs/$2.log"
  echo "$3 $st" >"$1/pids/$2.pid"
}

pidfile_alive() { # PIDFILE -> prints PID if that exact process still runs
  local pid st
  read -r pid st <"$1" 2>/dev/null || return 0
  [ -n "${pid:-}" ] && [ "$(proc_start_time "$pid")" = "${st:-x}" ] && echo "$pid"
  return 0
}

stop_pidfiles() { # PIDFILE...: SIGTERM, wait up to 10 s, then SIGKILL; only the exact recorded processes
  local f pid pids=()
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(pidfile_alive "$f")
    if [ -n "$pid" ] && [ "$pid" != "$$" ] && [ "$pid" != "$PPID" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid:$f")
    fi
  done
  local i p
  for ((i = 0; i < 100; i++)); do
    local left=0
    for p in "${pids[@]}"; do [ -n "$(pidfile_alive "${p#*:}")" ] && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    pid=$(pidfile_alive "${p#*:}")
    if [ -n "$pid" ]; then log "pid $pid did not stop on SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for f in "$@"; do rm -f "$f"; done
}

spawn() { # DIR NAME CMD...: start CMD detached, log to DIR/logs/NAME.log, record its PID
  local d=$1 name=$2; shift 2
  setsid "$@" >"$d/logs/$name.log" 2>&1 </dev/null &
  record_pid "$d" "$name" "$!"
}

