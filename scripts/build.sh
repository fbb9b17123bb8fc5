#!/usr/bin/env bash
# Configures and builds everything into build/ (or $BC_BUILD_DIR) with Ninja and ccache.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BC_BUILD_DIR:-build}"
build_type="${BC_BUILD_TYPE:-RelWithDebInfo}"

# Paths relative to the repo root in ccache's hashes, so another clone reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

start=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >"$log" 2>&1; then
  cat "$log" >&2
  echo "build: cmake configure failed" >&2
  exit 1
fi
ninja -C "$build" -j"$(nproc)"
echo "build: $build ($build_type) done in $((SECONDS - start)) s"
