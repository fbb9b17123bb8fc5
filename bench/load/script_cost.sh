#!/usr/bin/env bash
# Redis's own cost of the admission script of `state: redis`, apart from the gateway:
#
#   bash bench/load/script_cost.sh [GIT_REV ...]
#
# The admission script (kAdmitScript in src/state/admission_script.h) of the working tree and
# of each GIT_REV runs in a redis-server this script starts on 127.0.0.1 (free port,
# temporary directory, nothing persisted). redis-benchmark sends it with EVALSHA and the
# arguments the gateway sends for a key with max_concurrency only, from 4 clients pipelined 8
# deep; the lease time is 1 ms, so each admission finds the one before it expired and the
# lease set small, as the release leaves it. Redis's INFO commandstats gives the µs per
# EVALSHA, the script's own commands included. "return 1" with the same arguments is the
# floor that any script pays (argument tables, the call). Rounds interleave the scripts
# (BC_SCRIPT_ROUNDS, 3; BC_SCRIPT_CALLS per run, 200000); medians are printed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rounds="${BC_SCRIPT_ROUNDS:-3}"
calls="${BC_SCRIPT_CALLS:-200000}"

source "$here/lib.sh"
work="$(mktemp -d /tmp/bc-script.XXXXXX)"
trap 'stop_all; rm -rf "$work"' EXIT

# extract HEADER_FILE OUT: the admission script's Lua text.
extract() {
  node -e '
    const s = require("fs").readFileSync(process.argv[1], "utf8");
    const open = "kAdmitScript = R\"lua(";
    const at = s.indexOf(open);
    if (at < 0) { console.error("no kAdmitScript in " + process.argv[1]); process.exit(1); }
    const from = at + open.length;
    require("fs").writeFileSync(process.argv[2], s.slice(from, s.indexOf(")lua\"", from)));
  ' "$1" "$2"
}

names=(floor worktree)
printf 'return 1\n' >"$work/floor.lua"
extract "$repo/src/state/admission_script.h" "$work/worktree.lua"
for rev in "$@"; do
  git -C "$repo" show "$rev:src/state/admission_script.h" >"$work/$rev.h"
  extract "$work/$rev.h" "$work/$rev.lua"
  names+=("$rev")
done

port="$(free_port)"
start_bg redis-server "$work/redis.out" redis-server --port "$port" --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$work"
wait_port "$port" "$LAST_PID"
cli() { redis-cli -p "$port" "$@"; }

key="bench/19cdc54afbb04eea"
keys=()
for kind in lease qps cool rpm tpm "day" open quar cap; do keys+=("bc:$kind:$key"); done
keys[5]="bc:day:$key:0"
# max_concurrency, lease ms, per window, window ms, lease id, rpm, tpm, rpd, tpd, tokens, day ttl
args=(100000 1 0 1000 "vm:1:abcd.0:__rand_int__" 0 0 0 0 0 1000)

results="$work/results.txt"
for ((round = 1; round <= rounds; round++)); do
  for name in "${names[@]}"; do
    sha="$(cli SCRIPT LOAD "$(cat "$work/$name.lua")")"
    cli DEL "${keys[0]}" >/dev/null
    cli CONFIG RESETSTAT >/dev/null
    redis-benchmark -p "$port" -n "$calls" -c 4 -P 8 -r 1000000 \
      EVALSHA "$sha" 9 "${keys[@]}" "${args[@]}" >/dev/null
    usec="$(cli INFO commandstats | sed -n 's/^cmdstat_evalsha:.*usec_per_call=\([0-9.]*\).*/\1/p')"
    echo "$round $name $usec" | tee -a "$results"
  done
done

echo
echo "medians over $rounds rounds of $calls calls ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
  const names = process.argv.slice(2);
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const m = Object.fromEntries(names.map((n) => [n, median(rows.filter((r) => r[1] === n).map((r) => Number(r[2])))]));
  console.log("| script | µs per EVALSHA (Redis) | above the floor | ÷ working tree |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const n of names) {
    const over = (m[n] - m.floor).toFixed(2);
    console.log(`| ${n === "floor" ? "floor (return 1)" : n} | ${m[n].toFixed(2)} | ${over} | ${(m[n] / m.worktree).toFixed(3)} |`);
  }
' "$results" "${names[@]}"
