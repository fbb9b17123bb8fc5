# Process and /proc helpers for run.sh (sourced). Every process is started through start_bg,
# which records its PID; stop_all (run from the EXIT trap) stops exactly those PIDs.

STARTED_PIDS=()

# start_bg NAME LOGFILE CMD...: runs CMD in the background, sets LAST_PID.
start_bg() {
  local name="$1" log="$2"
  shift 2
  "$@" >"$log" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
  echo "bench: started $name (pid $LAST_PID)" >&2
}

# stop_pid PID: SIGTERM, then SIGKILL after 3 s; reaps it.
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  STARTED_PIDS=()
}

# A free TCP port on 127.0.0.1 (the kernel's pick; released before the server binds it).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_port PORT PID: waits until something accepts on 127.0.0.1:PORT (at most 10 s) while
# PID is still alive.
wait_port() {
  local port="$1" pid="$2" i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || { echo "bench: pid $pid exited before listening on $port" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $port" >&2
  return 1
}

# CPU time of a process (all its threads) in microseconds: utime + stime from /proc/PID/stat.
cpu_us() {
  local stat rest
  stat="$(cat "/proc/$1/stat")"
  rest="${stat##*) }"  # fields after the command name, which may hold spaces
  read -r -a f <<<"$rest"
  # rest starts at field 3 (state); utime is field 14, stime field 15.
  echo $(((f[11] + f[12]) * 1000000 / $(getconf CLK_TCK)))
}

# Resident memory in KiB.
rss_kb() {
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
