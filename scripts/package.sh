#!/usr/bin/env bash
# Builds the Debian package balancedcall_<version>_amd64.deb with CPack from the build in
# $BC_BUILD_DIR (default build; configured first when it is not) and prints its path on the
# last line. Builds only what the package holds (the gateway, the gzipped man page and
# changelog), not the tests. Needs dpkg-dev (dpkg-shlibdeps computes Depends) and
# libsystemd-dev: scripts/setup.sh installs both.
#
#   BC_BUILD_DIR=dir   the build to package (default build)
#   BC_PACKAGE_DIR=dir where the .deb goes (default $BC_BUILD_DIR/package)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BC_BUILD_DIR:-build}"
out="${BC_PACKAGE_DIR:-$build/package}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BC_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
fi
ninja -C "$build" balancedcall bc_dist_files >/dev/null
mkdir -p "$out"
rm -f "$out"/balancedcall_*.deb
(cd "$build" && cpack -G DEB -B "$(cd "$root" && realpath "$out")" >/dev/null)
rm -rf "$out/_CPack_Packages"
debs=("$out"/balancedcall_*.deb)
[[ -f "${debs[0]}" ]] || { echo "package: cpack made no balancedcall_*.deb in $out" >&2; exit 1; }
echo "${debs[0]}"
