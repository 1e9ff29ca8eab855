# Sourced by scripts/cluster.sh and scripts/node.sh: processes recorded by PID and start time, so that only the
# exact processes a run started are ever stopped (a recycled PID is never killed). Callers define log and die.
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

