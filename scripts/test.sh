#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the layer check, the GoogleTest
# suites through CTest, the libFuzzer targets for a bounded time (scripts/fuzz.sh, its own
# clang build in build-fuzz/), then the Node integration and conformance tests
# (tests/integration, tests/conformance) against the built balancedcall and mockllm. Exits
# non-zero if anything fails and ends with one line of counts.
#
#   BC_BUILD_DIR=dir   build directory (default build)
#   BC_SKIP_BUILD=1    use the existing build as it is (no setup, no build; fuzz.sh still
#                      brings build-fuzz/ up to date, which is quick when nothing changed)
#   BC_SKIP_FUZZ=1     skip the fuzz step
#   BC_FUZZ_SECONDS=n  fuzzing time per fuzz target (default 15)
#   BC_SKIP_SANITIZE=1 skip the second pass under the sanitizers (see the end)
#   BC_SKIP_PACKAGE=1  skip the Debian package test (scripts/package-test.sh: build, lintian,
#                      contents, systemd-analyze verify, dpkg -i, check, dpkg --purge); it
#                      also skips itself, saying so, when not root
#
# After the normal pass, the whole suite (CTest and the Node tests; the fuzz targets already
# run with ASan and UBSan) runs again against a second build with AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer in build-san/ (or $BC_SAN_BUILD_DIR). Every
# sanitizer report, from any process a test started, is written under a log directory and
# fails the run.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export BC_BUILD_DIR="${BC_BUILD_DIR:-build}"

sanitized="${BC_SANITIZED_PASS:-}"  # set for the nested run of the sanitizer pass
if [[ "${BC_SKIP_BUILD:-}" != 1 ]]; then
  if [[ "$sanitized" == 1 ]]; then
    bash scripts/build.sh -DBC_SANITIZE=ON -DBC_BENCH=OFF || exit 1
  else
    bash scripts/setup.sh || exit 1
    bash scripts/build.sh || exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# balance/ and providers/ stay free of I/O, logging and clock reads.
layers_rc=0
if [[ "$sanitized" != 1 ]]; then
  bash scripts/check-layers.sh || layers_rc=1
fi

# Unit tests.
ctest --test-dir "$BC_BUILD_DIR" --output-on-failure --timeout 300 -j"$(nproc)" 2>&1 \
  | tee "$work/ctest.out"
ctest_rc=${PIPESTATUS[0]}
unit_total=0 unit_failed=0
if summary="$(grep -E '[0-9]+ tests failed out of [0-9]+' "$work/ctest.out")"; then
  unit_failed="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")"
  unit_total="$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")"
fi

# Fuzzing: every stream decoder, answer decoder, the SSE parser and the request parser.
fuzz_rc=0 fuzz_pass=0 fuzz_fail=0
if [[ "${BC_SKIP_FUZZ:-}" != 1 ]]; then
  bash scripts/fuzz.sh 2>&1 | tee "$work/fuzz.out"
  fuzz_rc=${PIPESTATUS[0]}
  if summary="$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$work/fuzz.out" | tail -1)"; then
    fuzz_pass="$(sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
    fuzz_fail="$(sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
  fi
fi

# Integration and conformance tests. Files are listed explicitly: how `node --test` treats
# a directory argument differs between Node 18, 20 and 22.
mapfile -t files < <(find tests/integration tests/conformance -name '*.test.mjs' | sort)
node_rc=0
node_pass=0 node_fail=0
if (( ${#files[@]} == 0 )); then
  echo "test: no Node test files found" >&2
  node_rc=1
else
  echo "test: node --test ${files[*]}"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/node.tap" "${files[@]}"
  node_rc=$?
  node_pass="$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$work/node.tap" | tail -1)"
  node_fail="$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$work/node.tap" | tail -1)"
  node_cancelled="$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$work/node.tap" | tail -1)"
  node_pass=${node_pass:-0}
  node_fail=$(( ${node_fail:-0} + ${node_cancelled:-0} ))  # cancelled: a timeout or failed hook
fi

# The Debian package, installed on this machine and purged again (root only; bounded).
pkg_rc=0 pkg_pass=0 pkg_fail=0 pkg_skip=""
if [[ "$sanitized" != 1 ]]; then
  if [[ "${BC_SKIP_PACKAGE:-}" == 1 ]]; then
    pkg_skip="BC_SKIP_PACKAGE=1"
  elif (( EUID != 0 )); then
    pkg_skip="not root: dpkg -i needs it"
  else
    timeout 300 bash scripts/package-test.sh 2>&1 | tee "$work/package.out"
    pkg_rc=${PIPESTATUS[0]}
    if (( pkg_rc == 2 )); then
      pkg_skip="$(tail -1 "$work/package.out")"
      pkg_rc=0
    elif summary="$(grep -E '^package: [0-9]+ passed, [0-9]+ failed$' "$work/package.out" | tail -1)"; then
      pkg_pass="$(sed -E 's/^package: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
      pkg_fail="$(sed -E 's/^package: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
    fi
  fi
fi

# The sanitizer pass: this script again, on the sanitized build, with every report going to
# files that are checked afterwards (a report in a server a test stopped by SIGTERM would
# otherwise go unseen).
san_rc=0 san_pass=0 san_fail=0
if [[ "$sanitized" != 1 && "${BC_SKIP_SANITIZE:-}" != 1 ]]; then
  san_logs="$work/sanitizer-reports"
  mkdir -p "$san_logs"
  echo
  echo "test: the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer"
  BC_SANITIZED_PASS=1 BC_SKIP_FUZZ=1 BC_BUILD_DIR="${BC_SAN_BUILD_DIR:-build-san}" \
    ASAN_OPTIONS="log_path=$san_logs/asan:detect_leaks=1:abort_on_error=1:strict_string_checks=1" \
    UBSAN_OPTIONS="log_path=$san_logs/ubsan:print_stacktrace=1:halt_on_error=1" \
    bash scripts/test.sh 2>&1 | tee "$work/san.out"
  san_rc=${PIPESTATUS[0]}
  if summary="$(grep -E '^total: [0-9]+ passed, [0-9]+ failed$' "$work/san.out" | tail -1)"; then
    san_pass="$(sed -E 's/^total: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
    san_fail="$(sed -E 's/^total: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
  fi
  reports=("$san_logs"/*)
  if [[ -e "${reports[0]}" ]]; then
    echo "test: sanitizer reports (${#reports[@]} files):" >&2
    for f in "${reports[@]}"; do
      echo "--- $f" >&2
      head -c 20000 "$f" >&2
    done
    san_rc=1
    san_fail=$((san_fail + ${#reports[@]}))
  fi
fi

# A fuzz failure's details again next to the counts, where a CI log's tail still shows them:
# the target, its finding and the input in base64, to save under fuzz/regressions/.
if (( fuzz_fail > 0 )) && [[ -f "$work/fuzz.out" ]]; then
  echo
  echo "fuzz failures (repeated from above):"
  grep -E '^---- |ERROR|fuzz property broken|runtime error|^SUMMARY|^Base64' "$work/fuzz.out" |
    cut -c1-600 | head -30
fi

echo
echo "unit (ctest): $((unit_total - unit_failed)) passed, $unit_failed failed"
if [[ "${BC_SKIP_FUZZ:-}" == 1 ]]; then
  echo "fuzz (libFuzzer): skipped (BC_SKIP_FUZZ=1)"
else
  echo "fuzz (libFuzzer): $fuzz_pass passed, $fuzz_fail failed"
fi
echo "integration+conformance (node): $node_pass passed, $node_fail failed"
if [[ "$sanitized" != 1 ]]; then
  if [[ -n "$pkg_skip" ]]; then
    echo "package (deb): skipped ($pkg_skip)"
  else
    echo "package (deb): $pkg_pass passed, $pkg_fail failed"
  fi
fi
if [[ "$sanitized" != 1 ]]; then
  if [[ "${BC_SKIP_SANITIZE:-}" == 1 ]]; then
    echo "sanitizers (ASan+UBSan, unit+node): skipped (BC_SKIP_SANITIZE=1)"
  else
    echo "sanitizers (ASan+UBSan, unit+node): $san_pass passed, $san_fail failed"
  fi
fi
passed=$((unit_total - unit_failed + fuzz_pass + node_pass + pkg_pass + san_pass))
failed=$((unit_failed + fuzz_fail + node_fail + pkg_fail + san_fail))
if (( ctest_rc != 0 || fuzz_rc != 0 || node_rc != 0 || layers_rc != 0 || pkg_rc != 0 || san_rc != 0 )) &&
  (( failed == 0 )); then
  failed=1  # a check or runner failed without a counted test failure (layers, crash, no tests)
fi
echo "total: $passed passed, $failed failed"
(( ctest_rc == 0 && fuzz_rc == 0 && node_rc == 0 && layers_rc == 0 && pkg_rc == 0 && san_rc == 0 ))
