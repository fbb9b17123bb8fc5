#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/ (only bc_core, bc_providers
# and the targets, instrumented with -fsanitize=fuzzer,address,undefined) and runs each for a
# bounded time: first every saved reproducer in fuzz/regressions/<target>/, then fuzzing from
# a temporary copy of fuzz/corpus/<target>/ (the repository is never written). Prints one line
# per target and ends with "fuzz: N passed, M failed"; exits non-zero on any crash, leak,
# timeout or broken property. A failing input is kept in <build>/fuzz-artifacts/.
#
#   BC_FUZZ_SECONDS=n     fuzzing time per target (default 15)
#   BC_FUZZ_JOBS=n        targets fuzzed at once (default: nproc)
#   BC_FUZZ_BUILD_DIR=dir build directory (default build-fuzz)
#   scripts/fuzz.sh [target ...]   only these targets (default: all, from fuzz_targets.txt)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BC_FUZZ_BUILD_DIR:-build-fuzz}"
seconds="${BC_FUZZ_SECONDS:-15}"
jobs="${BC_FUZZ_JOBS:-$(nproc)}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Build. Configuring once is enough: ninja re-runs cmake when a CMakeLists.txt changes.
start=$SECONDS
if [[ ! -f "$build/build.ninja" ]]; then
  if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ not found (bash scripts/setup.sh installs clang)" >&2
    exit 1
  fi
  if ! CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DBC_FUZZ=ON -DBC_FUZZ_ONLY=ON \
      -DBC_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" \
      >"$work/configure.log" 2>&1; then
    cat "$work/configure.log" >&2
    echo "fuzz: cmake configure failed" >&2
    echo "fuzz: 0 passed, 1 failed"
    exit 1
  fi
fi
if ! ninja -C "$build" -j"$jobs" fuzz >"$work/build.log" 2>&1; then
  grep -E 'error|FAILED' -A3 "$work/build.log" | head -60 >&2
  echo "fuzz: build failed (full log: ninja -C $build fuzz)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
warnings=$(grep -c 'warning:' "$work/build.log")
echo "fuzz: built $build in $((SECONDS - start)) s ($warnings compiler warnings)"

if (( $# > 0 )); then
  targets=("$@")
else
  mapfile -t targets <"$build/fuzz_targets.txt"
fi
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

# Runs one target; writes "<name> <runs> <result>" to $work/<name>.result and its log beside.
run_target() {
  local name=$1 bin="$build/fuzz/$1" log="$work/$1.log" result=ok runs=0
  local corpus="$work/corpus/$name" saved="$artifacts/$name"
  mkdir -p "$corpus" "$saved"
  if [[ ! -x "$bin" ]]; then
    echo "$name 0 missing-binary" >"$work/$name.result"
    return
  fi
  [[ -d fuzz/corpus/$name ]] && cp -r "fuzz/corpus/$name/." "$corpus/"
  local -a regressions=()
  if [[ -d fuzz/regressions/$name ]]; then
    mapfile -t regressions < <(find "fuzz/regressions/$name" -type f | sort)
  fi
  if (( ${#regressions[@]} > 0 )) &&
     ! "$bin" -detect_leaks=1 -timeout=10 "${regressions[@]}" >"$log" 2>&1; then
    result=regression-failed
  else
    "$bin" "$corpus" -dict=fuzz/sse_json.dict -max_len=65536 -max_total_time="$seconds" \
      -timeout=10 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$saved/" \
      >>"$log" 2>&1
    local rc=$?
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    runs=${runs:-0}
    if (( rc != 0 )); then
      if grep -q 'ERROR: LeakSanitizer' "$log"; then result=leak
      elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=timeout
      elif grep -q 'fuzz property broken' "$log"; then result=property-broken
      else result=crash
      fi
    fi
  fi
  echo "$name $runs $result" >"$work/$name.result"
}

echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
running=0
for name in "${targets[@]}"; do
  if (( running >= jobs )); then
    wait -n
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
wait

passed=0 failed=0
for name in "${targets[@]}"; do
  [[ -f "$work/$name.result" ]] || echo "$name 0 no-result" >"$work/$name.result"
  read -r _ runs result <"$work/$name.result"
  printf 'fuzz: %-28s %10s runs  %s\n' "$name" "$runs" "$result"
  if [[ "$result" == ok ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
for name in "${targets[@]}"; do
  read -r _ _ result <"$work/$name.result"
  [[ "$result" == ok ]] && continue
  echo "---- $name: $result (failing input kept in $artifacts/$name/)" >&2
  grep -E '^Running:|ERROR|fuzz property broken|runtime error|^(READ|WRITE) of|^ +#[0-9]+ |freed by|previously allocated|^SUMMARY|Test unit written|^Base64' \
    "$work/$name.log" | head -80 >&2
done
find "$artifacts" -mindepth 1 -type d -empty -delete
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 ))
