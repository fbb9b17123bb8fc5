#!/usr/bin/env bash
# Instruction profile of BalancedCall per request: runs it under valgrind's callgrind (which
# counts instructions, so the figures repeat on a noisy shared machine) in front of the same
# nginx upstream as run.sh, instruments only while a bounded wrk load runs, and prints the
# top functions by inclusive and by self cost with the number of requests served.
#
#   bash bench/load/profile.sh [json|stream]     (BC_PROFILE_SECONDS=10, BC_PROFILE_CONNECTIONS=4)
#
# Needs valgrind (apt-get install valgrind). Output: callgrind.out and annotations under
# $BC_BENCH_OUT (build-rel/bench-profile).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kind="${1:-json}"
secs="${BC_PROFILE_SECONDS:-10}"
conns="${BC_PROFILE_CONNECTIONS:-4}"
build="${BC_BENCH_BUILD_DIR:-$root/build-rel}"
out="${BC_BENCH_OUT:-$build/bench-profile}"
bc_bin="${BC_BIN:-$build/src/balancedcall}"
payload="$here/payload"
source "$here/lib.sh"
source "$here/configs.sh"
command -v valgrind >/dev/null || { echo "profile: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
bash "$here/install.sh"

work="$(mktemp -d /tmp/bc-profile.XXXXXX)"
# Servers stopped by PID on any exit; their logs kept only when something failed.
trap 'rc=$?; stop_all; if ((rc == 0)); then rm -rf "$work"; else echo "bench: logs kept in $work" >&2; fi' EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"
export NGINX_PORT BC_PORT MOCK_PORT
NGINX_PORT="$(free_port)"
BC_PORT="$(free_port)"
MOCK_PORT="$(free_port)"  # unused here: the slow model is never called
write_nginx_conf "$work" "$payload"
write_balancedcall_yaml "$work" "gap=50"
# One server thread: callgrind serializes threads anyway, and one thread keeps the
# per-request figures free of work-stealing noise.
sed -i 's/^  port: .*/&\n  threads: 1/' "$work/balancedcall.yaml"

start_bg nginx "$work/nginx.out" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
wait_port "$NGINX_PORT" "$LAST_PID"
cg="$out/callgrind.$kind.out"
start_bg balancedcall "$work/bc.out" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$cg" "$bc_bin" serve --config "$work/balancedcall.yaml"
bc_pid=$LAST_PID
wait_port "$BC_PORT" "$bc_pid"

body="$payload/request.json"
[[ "$kind" == stream ]] && body="$payload/request_stream.json"
# Warm the upstream pool and the allocator outside the measured window.
BENCH_BODY="$body" wrk -t1 -c"$conns" -d2s -s "$here/chat.lua" "http://127.0.0.1:$BC_PORT" >/dev/null
callgrind_control -i on "$bc_pid" >/dev/null 2>&1
line="$(BENCH_BODY="$body" wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s "$here/chat.lua" \
  "http://127.0.0.1:$BC_PORT" | grep '^WRK ')"
callgrind_control -i off "$bc_pid" >/dev/null 2>&1
stop_all
requests="$(node -p "JSON.parse(process.argv[1]).requests" "${line#WRK }")"
echo "profile: $kind, $requests requests instrumented ($line)"
# Whole annotations to files (head on a pipe would kill callgrind_annotate under pipefail).
callgrind_annotate --inclusive=yes "$cg" >"$out/top.$kind.inclusive.txt" 2>/dev/null
callgrind_annotate --inclusive=no "$cg" >"$out/top.$kind.self.txt" 2>/dev/null
total="$(awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}' "$out/top.$kind.self.txt")"
echo "profile: $total instructions, $((total / requests)) per request"
echo "profile: top functions in $out/top.$kind.inclusive.txt and $out/top.$kind.self.txt"
