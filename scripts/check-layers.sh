#!/usr/bin/env bash
# Keeps the pure layers pure (docs/development.md, Layout): balance/ and providers/ must not include Asio,
# Beast, spdlog, hiredis or SQLite, nor read a clock or sleep. Exits 1 naming each offence.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
pattern='#include *[<"](boost/asio|boost/beast|spdlog|hiredis|sqlite3)|std::chrono::(system_clock|steady_clock)::now|this_thread::sleep'
for dir in src/balance src/providers; do
  if out=$(grep -rnE "$pattern" "$dir" --include='*.h' --include='*.cpp' | grep -v '_test.cpp:'); then
    echo "$out" | sed 's/^/layer violation: /'
    bad=1
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "balance/ and providers/ must stay free of I/O, logging and clock reads (see docs/development.md)"
  exit 1
fi
echo "layer check: balance/ and providers/ are pure"
