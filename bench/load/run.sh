#!/usr/bin/env bash
# The load benchmark of issue 7, in one command: `bash bench/load/run.sh`.
#
# Starts nginx (a static upstream), HAProxy (the baseline hop) and BalancedCall (the measured
# hop) plus mockllm (a slow SSE upstream) on 127.0.0.1, drives them with wrk, small Node
# clients and a C++ one for the 1,000 slow streams (slow_streams.cpp), and prints a markdown
# table of medians over BC_BENCH_REPS repetitions, every figure also as a ratio to HAProxy's.
# docs/benchmarks.md explains the method and every row.
#
# Knobs (environment): BC_BENCH_REPS (3), BC_BENCH_SECONDS per wrk run (3),
# BC_BENCH_CONNECTIONS (32), BC_BENCH_SLOW_STREAMS (1000), BC_BENCH_SLOW_GAP_MS (50),
# BC_BENCH_SLOW_TOKENS (40), BC_BENCH_TTFB_REQUESTS (300), BC_BENCH_BUILD_DIR (build-rel),
# BC_BIN / MOCKLLM_BIN (skip the build and use these binaries), BC_BENCH_OUT (result dir).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
reps="${BC_BENCH_REPS:-3}"
secs="${BC_BENCH_SECONDS:-3}"
conns="${BC_BENCH_CONNECTIONS:-32}"
slow_n="${BC_BENCH_SLOW_STREAMS:-1000}"
slow_gap="${BC_BENCH_SLOW_GAP_MS:-50}"
slow_tokens="${BC_BENCH_SLOW_TOKENS:-40}"
ttfb_n="${BC_BENCH_TTFB_REQUESTS:-300}"
build="${BC_BENCH_BUILD_DIR:-$root/build-rel}"
out="${BC_BENCH_OUT:-$build/bench-load}"
payload="$here/payload"

source "$here/lib.sh"
source "$here/configs.sh"

bash "$here/install.sh"
# Optimized build of the binaries it needs only; a no-op when they are up to date.
targets=(bench_slow_streams)
[[ -n "${BC_BIN:-}" ]] || targets+=(balancedcall)
[[ -n "${MOCKLLM_BIN:-}" ]] || targets+=(mockllm)
[[ -f "$build/build.ninja" ]] ||
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBC_BENCH=ON >/dev/null
ninja -C "$build" -j2 "${targets[@]}" >&2
bc_bin="${BC_BIN:-$build/src/balancedcall}"
mock_bin="${MOCKLLM_BIN:-$build/tools/mockllm/mockllm}"
slow_bin="$build/bench/bench_slow_streams"

work="$(mktemp -d /tmp/bc-bench.XXXXXX)"
# Servers stopped by PID on any exit; their logs kept only when something failed.
trap 'rc=$?; stop_all; if ((rc == 0)); then rm -rf "$work"; else echo "bench: logs kept in $work" >&2; fi' EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

export NGINX_PORT HAPROXY_PORT HAPROXY_MOCK_PORT MOCK_PORT BC_PORT
NGINX_PORT="$(free_port)"
HAPROXY_PORT="$(free_port)"
HAPROXY_MOCK_PORT="$(free_port)"
MOCK_PORT="$(free_port)"
BC_PORT="$(free_port)"
# The mock paces its stream by the key (tools/mockllm/README.md); HAProxy clients send the
# same key as their bearer, BalancedCall sends it from its config.
slow_pace="gap=$slow_gap;tokens=$slow_tokens"
slow_key="s1;$slow_pace"
write_nginx_conf "$work" "$payload"
write_haproxy_cfg "$work"
write_balancedcall_yaml "$work" "$slow_pace"

record() { echo "$1" >>"$results"; }

start_bg nginx "$work/nginx.out" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
nginx_pid=$LAST_PID
start_bg mockllm "$work/mockllm.out" "$mock_bin" --host 127.0.0.1 --port "$MOCK_PORT"
mock_pid=$LAST_PID
wait_port "$NGINX_PORT" "$nginx_pid"
wait_port "$MOCK_PORT" "$mock_pid"

# Start-up to first answer, before the long-lived instances take the ports.
echo "bench: start-up times" >&2
for ((rep = 1; rep <= reps; rep++)); do
  line="$(node "$here/startup.js" "$HAPROXY_PORT" /v1/chat/completions "$payload/request.json" \
    -- haproxy -db -f "$work/haproxy.cfg")"
  record "{\"rep\":$rep,\"target\":\"haproxy\",\"kind\":\"startup\",\"r\":${line#STARTUP }}"
  line="$(node "$here/startup.js" "$BC_PORT" /v1/chat/completions "$payload/request.json" \
    -- "$bc_bin" serve --config "$work/balancedcall.yaml")"
  record "{\"rep\":$rep,\"target\":\"bc\",\"kind\":\"startup\",\"r\":${line#STARTUP }}"
done

start_bg haproxy "$work/haproxy.out" haproxy -db -f "$work/haproxy.cfg"
haproxy_pid=$LAST_PID
start_bg balancedcall "$work/balancedcall.out" "$bc_bin" serve --config "$work/balancedcall.yaml"
bc_pid=$LAST_PID
wait_port "$HAPROXY_PORT" "$haproxy_pid"
wait_port "$BC_PORT" "$bc_pid"
sleep 1
record "{\"rep\":1,\"target\":\"bc\",\"kind\":\"idle\",\"r\":{\"rss_kb\":$(rss_kb "$bc_pid")}}"
record "{\"rep\":1,\"target\":\"haproxy\",\"kind\":\"idle\",\"r\":{\"rss_kb\":$(rss_kb "$haproxy_pid")}}"
record "{\"rep\":1,\"target\":\"direct\",\"kind\":\"idle\",\"r\":{\"rss_kb\":$(rss_kb "$nginx_pid")}}"

# Per target: base URL, process whose CPU and memory count, request path and body per load.
declare -A port=([direct]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [bc]=$BC_PORT)
declare -A pid=([direct]=$nginx_pid [haproxy]=$haproxy_pid [bc]=$bc_pid)
path_of() {  # target kind
  if [[ "$2" == stream && "$1" != bc ]]; then echo /stream/v1/chat/completions; else echo /v1/chat/completions; fi
}
body_of() {  # kind
  if [[ "$1" == stream ]]; then echo "$payload/request_stream.json"; else echo "$payload/request.json"; fi
}

# Sanity: every route answers 200 with the expected shape before anything is measured.
for t in direct haproxy bc; do
  for kind in json stream; do
    code="$(curl -s -o "$work/check.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data-binary "@$(body_of $kind)" "http://127.0.0.1:${port[$t]}$(path_of $t $kind)")"
    [[ "$code" == 200 ]] || { echo "bench: $t $kind answered $code: $(head -c 300 "$work/check.out")" >&2; exit 1; }
    if [[ $kind == json ]]; then grep -q '"chat.completion"' "$work/check.out"; else grep -q '^data: \[DONE\]' "$work/check.out"; fi ||
      { echo "bench: $t $kind answered an unexpected body: $(head -c 300 "$work/check.out")" >&2; exit 1; }
  done
done

# wrk_run REP TARGET KIND CONNECTIONS SECONDS [record]
wrk_run() {
  local rep="$1" t="$2" kind="$3" c="$4" s="$5" before after line
  before="$(cpu_us "${pid[$t]}")"
  line="$(BENCH_PATH="$(path_of "$t" "$kind")" BENCH_BODY="$(body_of "$kind")" \
    wrk -t1 -c"$c" -d"${s}s" --timeout 5s -s "$here/chat.lua" "http://127.0.0.1:${port[$t]}" | grep '^WRK ')"
  after="$(cpu_us "${pid[$t]}")"
  [[ "${6:-}" == record ]] || return 0
  record "{\"rep\":$rep,\"target\":\"$t\",\"kind\":\"${kind}_c$c\",\"cpu_us\":$((after - before)),\"r\":${line#WRK }}"
}

# slow_run REP TARGET: N concurrent slow streams through the target; peak RSS while they run.
slow_run() {
  local rep="$1" t="$2" to base peak r np line
  case "$t" in
    direct) to=$MOCK_PORT ;;
    haproxy) to=$HAPROXY_MOCK_PORT ;;
    bc) to=$BC_PORT ;;
  esac
  local p="${pid[$t]}"
  [[ $t == direct ]] && p=$mock_pid
  base="$(rss_kb "$p")"
  peak=$base
  "$slow_bin" "$to" /v1/chat/completions "$payload/request_slow.json" "$slow_n" "$slow_gap" 20 \
    "$slow_key" >"$work/slow.out" 2>&1 &
  np=$!
  STARTED_PIDS+=("$np")
  while kill -0 "$np" 2>/dev/null; do
    r="$(rss_kb "$p")"
    ((r > peak)) && peak=$r
    sleep 0.05
  done
  wait "$np" || true
  line="$(grep '^SLOW ' "$work/slow.out" || echo 'SLOW null')"
  record "{\"rep\":$rep,\"target\":\"$t\",\"kind\":\"slow\",\"rss_base_kb\":$base,\"rss_peak_kb\":$peak,\"n\":$slow_n,\"r\":${line#SLOW }}"
}

echo "bench: warm-up" >&2
for t in direct haproxy bc; do
  wrk_run 0 "$t" json "$conns" 1
  wrk_run 0 "$t" stream "$conns" 1
done

for ((rep = 1; rep <= reps; rep++)); do
  echo "bench: repetition $rep of $reps" >&2
  for kind in json stream; do
    for c in "$conns" 1; do
      for t in direct haproxy bc; do wrk_run "$rep" "$t" "$kind" "$c" "$secs" record; done
    done
  done
  for t in direct haproxy bc; do
    line="$(node "$here/ttfb.js" "http://127.0.0.1:${port[$t]}$(path_of "$t" stream)" \
      "$(body_of stream)" "$ttfb_n")"
    record "{\"rep\":$rep,\"target\":\"$t\",\"kind\":\"ttfb\",\"r\":${line#TTFB }}"
  done
  for t in direct haproxy bc; do slow_run "$rep" "$t"; done
done

sleep 1
record "{\"rep\":1,\"target\":\"bc\",\"kind\":\"idle_after\",\"r\":{\"rss_kb\":$(rss_kb "$bc_pid")}}"
record "{\"rep\":1,\"target\":\"haproxy\",\"kind\":\"idle_after\",\"r\":{\"rss_kb\":$(rss_kb "$haproxy_pid")}}"

{
  echo "BalancedCall load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "reps=$reps seconds=$secs connections=$conns slow_streams=$slow_n gap=${slow_gap}ms tokens=$slow_tokens"
  echo
  node "$here/report.js" "$results"
} | tee "$out/table.md"
echo "bench: table saved to $out/table.md, raw results in $results" >&2
