#!/usr/bin/env bash
# Builds the Debian package and checks it as an operator would meet it: lintian finds no
# error, it holds the expected files (the /etc ones as conffiles, the secrets file 0600), its
# Depends came from the binary's libraries, systemd-analyze accepts the unit, `dpkg -i`
# installs it, the installed binary checks the installed config and serves it, and
# `dpkg --purge` removes it leaving none of its files. Ends with `package: N passed, M failed`.
#
# Installs into the real /usr and /etc, so it needs root and refuses to run where a
# balancedcall package is already installed (it would purge it). It never starts the service.
#
#   BC_BUILD_DIR=dir   the build to package (default build)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export BC_BUILD_DIR="${BC_BUILD_DIR:-build}"

if (( EUID != 0 )); then
  echo "package: needs root (dpkg -i)" >&2
  exit 2
fi
if [[ "$(dpkg-query -W -f='${db:Status-Status}' balancedcall 2>/dev/null)" != "" &&
      "$(dpkg-query -W -f='${db:Status-Status}' balancedcall 2>/dev/null)" != "not-installed" ]]; then
  echo "package: a balancedcall package is already installed here; not touching it" >&2
  exit 2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  # Never leave the package behind, whatever failed.
  dpkg-query -W balancedcall >/dev/null 2>&1 && dpkg --purge balancedcall >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

pass=0 fail=0
check() {  # check <name> <command...>: runs it, its output shown only on failure
  local name="$1"
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "package: ok   $name"
    pass=$((pass + 1))
  else
    echo "package: FAIL $name"
    sed 's/^/    /' "$work/out" | head -60
    fail=$((fail + 1))
  fi
}
finish() {
  echo "package: $pass passed, $fail failed"
  (( fail == 0 ))
  exit
}

version="$(sed -nE 's/^project\(balancedcall VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)"
deb=""
build_deb() {
  deb="$(bash scripts/package.sh | tail -1)" && [[ "$(basename "$deb")" == "balancedcall_${version}_amd64.deb" ]] &&
    echo "$deb" && cp "$deb" "$work/balancedcall.deb"
}
check "scripts/package.sh builds balancedcall_${version}_amd64.deb" build_deb
[[ -f "$work/balancedcall.deb" ]] || finish
deb="$work/balancedcall.deb"

# lintian: warnings and notes are shown, an error fails.
lint() { lintian --fail-on error --no-tag-display-limit "$deb"; local rc=$?; cat >&2 <<<""; return $rc; }
check "lintian reports no error" lint
lintian "$deb" 2>&1 | sed 's/^/    lintian: /' | head -30

contents() {
  dpkg-deb --contents "$deb" >"$work/contents"
  cat "$work/contents"
  local want
  for want in ./usr/bin/balancedcall ./etc/balancedcall/config.yaml ./etc/default/balancedcall \
    ./lib/systemd/system/balancedcall.service ./usr/share/man/man1/balancedcall.1.gz \
    ./usr/share/doc/balancedcall/copyright ./usr/share/doc/balancedcall/changelog.gz \
    ./usr/share/doc/balancedcall/README.md ./usr/share/doc/balancedcall/deployment.md; do
    grep -qE " ${want}\$" "$work/contents" || { echo "missing: $want"; return 1; }
  done
  grep -qE '^-rw------- root/root .* \./etc/default/balancedcall$' "$work/contents" ||
    { echo "/etc/default/balancedcall is not 0600 root:root"; return 1; }
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$work/conffiles"
  diff <(printf '/etc/balancedcall/config.yaml\n/etc/default/balancedcall\n') "$work/conffiles" ||
    { echo "conffiles differ"; return 1; }
  local depends
  depends="$(dpkg-deb --field "$deb" Depends)"
  echo "Depends: $depends"
  [[ "$depends" == *libc6* && "$depends" == *libsystemd0* && "$depends" == *libspdlog* &&
     "$depends" == *libsqlite3-0* && "$depends" == *tzdata* && "$depends" == *libhiredis* ]] ||
    { echo "Depends does not name the binary's libraries"; return 1; }
}
check "dpkg-deb --contents: the binary, conffiles, unit, man page, docs; Depends" contents

check "dpkg -i installs it (systemd not running: nothing started)" dpkg -i "$deb"

verify() {
  # Only the unit's own problems: other units on the machine may have theirs.
  systemd-analyze verify /lib/systemd/system/balancedcall.service 2>&1 | tee "$work/verify"
  ! grep -q 'balancedcall' "$work/verify"
}
check "systemd-analyze verify accepts the unit" verify

check "/usr/bin/balancedcall check --config /etc/balancedcall/config.yaml" \
  /usr/bin/balancedcall check --config /etc/balancedcall/config.yaml
check "/usr/bin/balancedcall --version" bash -c '/usr/bin/balancedcall --version | grep -E "^balancedcall '"$version"' \("'

# The installed config answers right away (the demo's mock models), on a free port.
serves() {
  /usr/bin/balancedcall serve --config /etc/balancedcall/config.yaml --port 0 >"$work/serve.out" 2>&1 &
  server_pid=$!
  local url="" i
  for i in $(seq 1 100); do
    url="$(sed -nE 's/^balancedcall listening on (http:\/\/[^ ]+)$/\1/p' "$work/serve.out")"
    [[ -n "$url" ]] && break
    sleep 0.05
  done
  [[ -n "$url" ]] || { cat "$work/serve.out"; return 1; }
  curl -fsS --max-time 10 "$url/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"messages":[{"role":"user","content":"hi"}]}'
  local rc=$?
  kill "$server_pid"
  wait "$server_pid"
  server_pid=""
  return $rc
}
check "the installed binary serves the installed config" serves

purge() {
  dpkg -L balancedcall >"$work/files"
  dpkg --purge balancedcall || return 1
  local left=0 f
  while read -r f; do
    # Directories the package shares with others (/usr/bin, /etc/default ...) stay.
    if [[ -e "$f" && ! -d "$f" ]] || [[ -d "$f" && "$f" == *balancedcall* ]]; then
      echo "left behind: $f"
      left=1
    fi
  done <"$work/files"
  for f in /etc/systemd/system/multi-user.target.wants/balancedcall.service \
    /etc/systemd/system/balancedcall.service /var/lib/balancedcall /var/lib/private/balancedcall \
    /var/log/balancedcall /var/lib/systemd/deb-systemd-helper-enabled/balancedcall.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-masked/balancedcall.service; do
    [[ -e "$f" || -L "$f" ]] && { echo "left behind: $f"; left=1; }
  done
  (( left == 0 ))
}
check "dpkg --purge removes it and leaves none of its files" purge

finish
