#!/usr/bin/env bash
# The cost of shared state in Redis, with one binary:
#
#   bash bench/load/state_ab.sh BINARY
#
# 1. bench/load/ab.sh BINARY BINARY, the "new" side's config with `state: {backend: redis}`
#    on a redis-server this script starts on 127.0.0.1 (free port, temporary directory,
#    nothing persisted): CPU per request, requests/s, p50 and p99, state: local ("old")
#    beside state: redis ("new"), in interleaved rounds. Every bench key has a
#    max_concurrency, so every request is admitted in Redis.
# 2. Redis commands per request: one gateway with state: redis in front of its built-in mock
#    (no upstream), wrk for BC_AB_SECONDS, and Redis's INFO commandstats (reset before the
#    run) divided by the requests wrk counted, twice: keys with max_concurrency only, then
#    keys with every shared limit (rpm, tpm, rpd, tpd too) and a client with budgets. Redis
#    also counts the commands its scripts run; the total is of what the gateway sends
#    (EVALSHA to admit and to take a budget, ZREM or EVAL to release and settle, EVAL for
#    heartbeats, one per worker per second, and renewals).
#    BC_STATE_SKIP_AB=1 skips step 1; BC_STATE_OLD=OTHER_BINARY makes step 1 a change's cost
#    under state: redis, OTHER_BINARY (old) beside BINARY (new), both on the same Redis.
#
# BC_STATE_UNIX=1 makes step 1's gateways reach Redis over its unix socket rather than
# 127.0.0.1. Other knobs as ab.sh's. Every process it starts is stopped by PID on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# == 1 && -x "$1" ]] || { echo "usage: $0 BINARY" >&2; exit 2; }
bin="$(realpath "$1")"
secs="${BC_AB_SECONDS:-3}"
conns="${BC_AB_CONNECTIONS:-32}"

source "$here/lib.sh"
work="$(mktemp -d /tmp/bc-state.XXXXXX)"
trap 'stop_all; rm -rf "$work"' EXIT

redis_port="$(free_port)"
start_bg redis-server "$work/redis.out" redis-server --port "$redis_port" --bind 127.0.0.1 \
  --unixsocket "$work/redis.sock" --unixsocketperm 700 --save '' --appendonly no --dir "$work"
wait_port "$redis_port" "$LAST_PID"
# BC_STATE_UNIX=1: the gateways reach Redis over its unix socket instead of 127.0.0.1.
redis_url="redis://127.0.0.1:$redis_port"
if [[ "${BC_STATE_UNIX:-0}" == 1 ]]; then redis_url="unix:$work/redis.sock"; fi

if [[ "${BC_STATE_SKIP_AB:-0}" != 1 ]]; then
  echo "## state: local (old) beside state: redis (new), one binary"
  redis_yaml=$'state:\n  backend: redis\n  url: '"$redis_url"
  if [[ -n "${BC_STATE_OLD:-}" ]]; then
    echo "## state: redis, $BC_STATE_OLD (old) beside $bin (new)"
    BC_AB_OLD_YAML="$redis_yaml" BC_AB_NEW_YAML="$redis_yaml" bash "$here/ab.sh" "$BC_STATE_OLD" "$bin"
  else
    BC_AB_NEW_YAML="$redis_yaml" bash "$here/ab.sh" "$bin" "$bin"
  fi
fi

# count_commands TITLE LIMITS AUTH BEARER SENT: one gateway whose keys have LIMITS (YAML lines
# of the model), with AUTH (a top-level YAML section, or nothing), wrk sending BEARER; Redis's
# command counts per request. SENT: the commands the gateway itself sends (Redis counts a
# script's own commands under their names too: a ZREM inside the settling script is not
# one sent).
count_commands() {
  local title="$1" limits="$2" auth="$3" bearer="$4" sent="$5"
  echo
  echo "## Redis commands per request: $title (state: redis, built-in mock upstream)"
  BC_PORT="$(free_port)"
  cat >"$work/balancedcall.yaml" <<CONF
server:
  host: 127.0.0.1
  port: $BC_PORT
log:
  access: "off"
models:
  bench-json:
    provider: mock
$limits
    mock: {latency_ms: 0, tokens_per_second: 1000000}
    api_keys:
      - {name: k1, key: sk-bench-key-0001}
      - {name: k2, key: sk-bench-key-0002}
$auth
state:
  backend: redis
  url: redis://127.0.0.1:$redis_port
CONF
  start_bg "balancedcall (redis)" "$work/bc.out" "$bin" serve --config "$work/balancedcall.yaml"
  local pid="$LAST_PID"
  wait_port "$BC_PORT" "$pid"
  sleep 1.5  # the workers' sessions up (first heartbeat)
  redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
  local line stats
  line="$(BENCH_PATH=/v1/chat/completions BENCH_BODY="$here/payload/request.json" \
    BENCH_BEARER="$bearer" \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$here/chat.lua" "http://127.0.0.1:$BC_PORT" |
    grep '^WRK ')"
  stats="$(redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' | grep '^cmdstat_')"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  node -e '
    const r = JSON.parse(process.argv[1]);
    let total = 0;
    console.log(`requests: ${r.requests} (errors ${r.errors}) in ${(r.duration_us / 1e6).toFixed(1)} s`);
    console.log("| command | calls | per request |");
    console.log("| --- | ---: | ---: |");
    for (const l of process.argv[2].split("\n")) {
      const m = /^cmdstat_(\w+):calls=(\d+)/.exec(l);
      if (!m || m[1] === "config" || m[1] === "info") continue;
      // Redis counts the commands a script runs too; the gateway itself sends only these.
      const sent = process.argv[3].split(" ").includes(m[1]);
      if (sent) total += Number(m[2]);
      console.log(`| ${m[1].toUpperCase()}${sent ? "" : " (inside the scripts)"} | ${m[2]} | ${(Number(m[2]) / r.requests).toFixed(3)} |`);
    }
    console.log(`| sent by the gateway | ${total} | ${(total / r.requests).toFixed(3)} |`);
  ' "${line#WRK }" "$stats" "$sent"
}

count_commands "max_concurrency" "    max_concurrency: 100000" "" "bench-client" "evalsha eval zrem"
# Every shared limit at once, none ever reached: rpm, tpm, rpd, tpd beside max_concurrency,
# and a client with all three budgets (its own script before the key pick).
count_commands "max_concurrency, rpm, tpm, rpd, tpd and a client's budgets" \
  $'    max_concurrency: 100000\n    rpm: 1000000000\n    tpm: 1000000000\n    rpd: 1000000000\n    tpd: 1000000000' \
  $'auth:\n  client_keys:\n    - {name: bench, key: ck-bench-client-0123456789, requests_per_day: 1000000000, tokens_per_day: 1000000000, tokens_per_month: 1000000000}' \
  "ck-bench-client-0123456789" "evalsha eval"
