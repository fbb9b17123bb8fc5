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
#    run) divided by the requests wrk counted. Redis also counts the commands its scripts
#    run; the total is of what the gateway sends (EVALSHA to admit, ZREM to release, EVAL for
#    heartbeats, one per worker per second, and renewals).
#
# Knobs as ab.sh's. Every process it starts is stopped by PID on exit.
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
  --save '' --appendonly no --dir "$work"
wait_port "$redis_port" "$LAST_PID"

echo "## state: local (old) beside state: redis (new), one binary"
BC_AB_NEW_YAML=$'state:\n  backend: redis\n  url: redis://127.0.0.1:'"$redis_port" \
  bash "$here/ab.sh" "$bin" "$bin"

echo
echo "## Redis commands per request (state: redis, built-in mock upstream)"
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
    max_concurrency: 100000
    mock: {latency_ms: 0, tokens_per_second: 1000000}
    api_keys:
      - {name: k1, key: sk-bench-key-0001}
      - {name: k2, key: sk-bench-key-0002}
state:
  backend: redis
  url: redis://127.0.0.1:$redis_port
CONF
start_bg "balancedcall (redis)" "$work/bc.out" "$bin" serve --config "$work/balancedcall.yaml"
wait_port "$BC_PORT" "$LAST_PID"
sleep 1.5  # the workers' sessions up (first heartbeat)
redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
line="$(BENCH_PATH=/v1/chat/completions BENCH_BODY="$here/payload/request.json" \
  wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$here/chat.lua" "http://127.0.0.1:$BC_PORT" |
  grep '^WRK ')"
stats="$(redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' | grep '^cmdstat_')"
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
    const sent = ["evalsha", "eval", "zrem"].includes(m[1]);
    if (sent) total += Number(m[2]);
    console.log(`| ${m[1].toUpperCase()}${sent ? "" : " (inside the scripts)"} | ${m[2]} | ${(Number(m[2]) / r.requests).toFixed(3)} |`);
  }
  console.log(`| sent by the gateway | ${total} | ${(total / r.requests).toFixed(3)} |`);
' "${line#WRK }" "$stats"
