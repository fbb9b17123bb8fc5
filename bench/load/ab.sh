#!/usr/bin/env bash
# Two gateway binaries side by side, for the cost of one change on the request path:
#
#   bash bench/load/ab.sh OLD_BINARY NEW_BINARY
#
# Both run the benchmark's config (configs.sh) on ports of their own in front of the same
# nginx, and wrk drives them in interleaved rounds (old, new, old, new, ...) so that the
# machine's drift hits both alike. Per round and binary it records the CPU the gateway spent
# (utime + stime from /proc) per non-streamed request and per 20-event stream, requests per
# second and p50 latency at BC_AB_CONNECTIONS connections; it prints each round and the
# medians, with new ÷ old. Knobs: BC_AB_ROUNDS (5), BC_AB_SECONDS per wrk run (3),
# BC_AB_CONNECTIONS (32), BC_AB_PACE_MS (each connection waits 0 to twice that many ms, at
# random, after an answer: a steady rate below saturation; 0, the default, is flat out),
# BC_AB_NEW_YAML and BC_AB_OLD_YAML (config appended for the new or the old binary only;
# @WORK@ names the run's temporary folder). Every process it starts is
# stopped by PID on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# == 2 && -x "$1" && -x "$2" ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
old_bin="$(realpath "$1")"
new_bin="$(realpath "$2")"
rounds="${BC_AB_ROUNDS:-5}"
secs="${BC_AB_SECONDS:-3}"
conns="${BC_AB_CONNECTIONS:-32}"
payload="$here/payload"

source "$here/lib.sh"
source "$here/configs.sh"
bash "$here/install.sh"

work="$(mktemp -d /tmp/bc-ab.XXXXXX)"
trap 'stop_all; rm -rf "$work"' EXIT

NGINX_PORT="$(free_port)"
MOCK_PORT="$(free_port)"  # named by the config; nothing listens there (no slow streams here)
export NGINX_PORT MOCK_PORT
write_nginx_conf "$work" "$payload"
start_bg nginx "$work/nginx.out" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
wait_port "$NGINX_PORT" "$LAST_PID"

declare -A port pid
for which in old new; do
  mkdir -p "$work/$which"
  BC_PORT="$(free_port)"
  export BC_PORT
  write_balancedcall_yaml "$work/$which" "gap=50;tokens=40"
  # BC_AB_NEW_YAML: top-level YAML appended to the new binary's config only, to measure a
  # feature on against off with one binary (e.g. the usage ledger: "usage: {path: ...}").
  if [[ $which == new && -n "${BC_AB_NEW_YAML:-}" ]]; then
    printf '%s\n' "${BC_AB_NEW_YAML//@WORK@/$work}" >>"$work/$which/balancedcall.yaml"
  fi
  # BC_AB_OLD_YAML: the same for the old binary (both on `state: redis`, say).
  if [[ $which == old && -n "${BC_AB_OLD_YAML:-}" ]]; then
    printf '%s\n' "${BC_AB_OLD_YAML//@WORK@/$work}" >>"$work/$which/balancedcall.yaml"
  fi
  bin="$old_bin"
  [[ $which == new ]] && bin="$new_bin"
  start_bg "balancedcall ($which)" "$work/$which.out" "$bin" serve --config "$work/$which/balancedcall.yaml"
  pid[$which]=$LAST_PID
  port[$which]=$BC_PORT
  wait_port "$BC_PORT" "$LAST_PID"
done

# run WHICH KIND: one wrk run; prints "cpu_per_request requests_per_second p50_us errors p99_us".
run() {
  local which="$1" kind="$2" body="$payload/request.json" before after line
  [[ $kind == stream ]] && body="$payload/request_stream.json"
  before="$(cpu_us "${pid[$which]}")"
  line="$(BENCH_PATH=/v1/chat/completions BENCH_BODY="$body" BENCH_PACE_MS="${BC_AB_PACE_MS:-0}" \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$here/chat.lua" "http://127.0.0.1:${port[$which]}" |
    grep '^WRK ')"
  after="$(cpu_us "${pid[$which]}")"
  node -e '
    const r = JSON.parse(process.argv[1]); const cpu = Number(process.argv[2]);
    console.log((cpu / r.requests).toFixed(2), (r.requests / (r.duration_us / 1e6)).toFixed(0), r.p50_us, r.errors, r.p99_us);
  ' "${line#WRK }" "$((after - before))"
}

for which in old new; do run "$which" json >/dev/null; run "$which" stream >/dev/null; done  # warm-up

results="$work/results.txt"
echo "round kind binary cpu_us_per_request requests_per_s p50_us errors p99_us"
for ((r = 1; r <= rounds; r++)); do
  for kind in json stream; do
    for which in old new; do
      line="$r $kind $which $(run "$which" "$kind")"
      echo "$line" | tee -a "$results"
    done
  done
done

echo
pace=""
if [[ "${BC_AB_PACE_MS:-0}" != 0 ]]; then pace=", each paced ${BC_AB_PACE_MS} ms between requests"; fi
echo "medians over $rounds rounds, $conns connections$pace, ${secs} s each ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  console.log("| load | figure | old | new | new ÷ old |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const kind of ["json", "stream"]) {
    for (const [i, name] of [[3, "CPU µs per request"], [4, "requests/s"], [5, "p50 µs"], [7, "p99 µs"]]) {
      const of = (b) => median(rows.filter((r) => r[1] === kind && r[2] === b).map((r) => Number(r[i])));
      const o = of("old"), n = of("new");
      console.log(`| ${kind === "json" ? "non-streamed" : "streamed (20 events)"} | ${name} | ${o} | ${n} | ${(n / o).toFixed(3)} |`);
    }
  }
' "$results"
