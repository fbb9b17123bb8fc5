#!/usr/bin/env bash
# The cost of a request against the number of keys of its model (issue 24):
#
#   bash bench/load/keys.sh BINARY
#
# One gateway per key count (BC_KEYS_COUNTS, default "4 100 1000 10000": the benchmark's
# config with that many keys in each of its models, configs.sh), each on a port of its own in
# front of the same nginx; wrk drives them in interleaved rounds (4, 100, ..., 4, 100, ...) so
# that the machine's drift hits all alike. Per round and count it records the CPU the gateway
# spent (utime + stime from /proc) per non-streamed request, requests per second and p50
# latency; it prints each round, then the medians with the ratio to the first count, the time
# from start to listening and the resident memory after the runs. Knobs: BC_AB_ROUNDS (5),
# BC_AB_SECONDS per wrk run (3), BC_AB_CONNECTIONS (32). Every process it starts is stopped by
# PID on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# == 1 && -x "$1" ]] || { echo "usage: $0 BINARY" >&2; exit 2; }
bin="$(realpath "$1")"
counts=(${BC_KEYS_COUNTS:-4 100 1000 10000})
rounds="${BC_AB_ROUNDS:-5}"
secs="${BC_AB_SECONDS:-3}"
conns="${BC_AB_CONNECTIONS:-32}"
payload="$here/payload"

source "$here/lib.sh"
source "$here/configs.sh"
bash "$here/install.sh"

work="$(mktemp -d /tmp/bc-keys.XXXXXX)"
trap 'stop_all; rm -rf "$work"' EXIT

NGINX_PORT="$(free_port)"
MOCK_PORT="$(free_port)"  # named by the config; nothing listens there
export NGINX_PORT MOCK_PORT
write_nginx_conf "$work" "$payload"
start_bg nginx "$work/nginx.out" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
wait_port "$NGINX_PORT" "$LAST_PID"

declare -A port pid startup
for n in "${counts[@]}"; do
  mkdir -p "$work/$n"
  BC_PORT="$(free_port)"
  BC_BENCH_KEYS="$n"
  export BC_PORT BC_BENCH_KEYS
  write_balancedcall_yaml "$work/$n" "gap=50;tokens=40"
  t0="$(date +%s%N)"
  start_bg "balancedcall ($n keys)" "$work/$n.out" "$bin" serve --config "$work/$n/balancedcall.yaml"
  pid[$n]=$LAST_PID
  port[$n]=$BC_PORT
  wait_port "$BC_PORT" "$LAST_PID"
  startup[$n]=$(( ($(date +%s%N) - t0) / 1000000 ))
done

# run N: one wrk run; prints "cpu_per_request requests_per_second p50_us errors".
run() {
  local n="$1" before after line
  before="$(cpu_us "${pid[$n]}")"
  line="$(BENCH_PATH=/v1/chat/completions BENCH_BODY="$payload/request.json" \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$here/chat.lua" "http://127.0.0.1:${port[$n]}" |
    grep '^WRK ')"
  after="$(cpu_us "${pid[$n]}")"
  node -e '
    const r = JSON.parse(process.argv[1]); const cpu = Number(process.argv[2]);
    console.log((cpu / r.requests).toFixed(2), (r.requests / (r.duration_us / 1e6)).toFixed(0), r.p50_us, r.errors);
  ' "${line#WRK }" "$((after - before))"
}

for n in "${counts[@]}"; do run "$n" >/dev/null; done  # warm-up

results="$work/results.txt"
echo "round keys cpu_us_per_request requests_per_s p50_us errors"
for ((r = 1; r <= rounds; r++)); do
  for n in "${counts[@]}"; do
    echo "$r $n $(run "$n")" | tee -a "$results"
  done
done

extra="$work/extra.txt"
for n in "${counts[@]}"; do echo "$n ${startup[$n]} $(rss_kb "${pid[$n]}")" >>"$extra"; done
echo
echo "medians over $rounds rounds, $conns connections, ${secs} s each ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
node -e '
  const fs = require("fs");
  const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
  const extra = Object.fromEntries(fs.readFileSync(process.argv[2], "utf8").trim().split("\n")
    .map((l) => l.split(" ")).map(([n, ms, rss]) => [n, { ms, rss }]));
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const counts = [...new Set(rows.map((r) => r[1]))];
  const of = (n, i) => median(rows.filter((r) => r[1] === n).map((r) => Number(r[i])));
  const base = of(counts[0], 2);
  console.log("| keys per model | CPU µs per request | ÷ " + counts[0] + " keys | requests/s | p50 µs | errors | start to listening ms | RSS MB |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const n of counts) {
    const errors = rows.filter((r) => r[1] === n).reduce((a, r) => a + Number(r[5]), 0);
    console.log(`| ${n} | ${of(n, 2)} | ${(of(n, 2) / base).toFixed(3)} | ${of(n, 3)} | ${of(n, 4)} | ${errors} | ${extra[n].ms} | ${(extra[n].rss / 1024).toFixed(1)} |`);
  }
' "$results" "$extra"
