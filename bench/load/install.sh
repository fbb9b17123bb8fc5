#!/usr/bin/env bash
# Installs what the load benchmark needs beyond the build (scripts/setup.sh): nginx, HAProxy,
# wrk and Node from Debian, only those missing. Kept apart from setup.sh so the test command
# never pulls in servers it does not use. Debian's policy-rc.d or the lack of an init system
# keeps the nginx and haproxy services from starting on install; the benchmark runs its own.
set -euo pipefail

declare -A want=([nginx]=nginx-light [haproxy]=haproxy [wrk]=wrk [node]=nodejs)
missing=()
for bin in "${!want[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" ]] || missing+=("${want[$bin]}")
done
(( ${#missing[@]} == 0 )) && exit 0

sudo=()
if (( EUID != 0 )); then
  command -v sudo >/dev/null 2>&1 || { echo "bench: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "bench: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
