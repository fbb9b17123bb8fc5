#!/usr/bin/env bash
# Installs everything the build, the tests, the demo and the Debian package need on Debian 12:
# the Debian packages below (only those missing; dpkg-dev, lintian and systemd serve
# scripts/package.sh and its test; redis-server the scale-out tests; chromium the dashboard's
# browser test, driven by puppeteer-core, which never downloads a browser) and the Node test
# dependencies in tests/ (only when node_modules is missing or package-lock.json changed).
# Idempotent; prints one line when everything is already present.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Never the unversioned libboost-dev: it is Boost 1.74 and conflicts with libboost1.81-dev.
packages=(
  cmake ninja-build ccache g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl ca-certificates libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  prometheus-cpp-dev libhiredis-dev libsqlite3-dev sqlite3 tzdata libmimalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format curl git
  libsystemd-dev dpkg-dev lintian systemd
  redis-server chromium
)

missing=()
while read -r name status; do
  [[ "$status" == installed ]] || missing+=("$name")
done < <(
  for p in "${packages[@]}"; do
    printf '%s %s\n' "$p" "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  done
)

# Node.js: any node >= 18 will do, from Debian (18.x, with the separate npm package) or
# from elsewhere (e.g. a nodejs package that bundles npm). Only when node or npm is absent
# do we ask apt for Debian's, so a newer Node that is already there is left alone.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || (( $(node_major) < 18 )); then
  missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if (( ${#missing[@]} > 0 )); then
  sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node test dependencies, pinned by tests/package-lock.json.
tests="$root/tests"
stamp="$tests/node_modules/.bc-package-lock.sha256"
want="$(sha256sum "$tests/package-lock.json" | cut -d' ' -f1)"
npm_state="node_modules up to date"
if [[ ! -d "$tests/node_modules" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: npm ci in tests/"
  (cd "$tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
  npm_state="node_modules installed"
fi

if (( ${#missing[@]} == 0 )); then
  echo "setup: all ${#packages[@]} Debian packages and node $(node --version) present, $npm_state"
fi
