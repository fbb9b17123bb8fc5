#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the gateway on the embedded demo
# config (two built-in `mock` models, no API key needed) on port 9000. Extra arguments go to
# `balancedcall serve`, e.g. `bash scripts/demo.sh --config config/my.yaml`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
echo "demo: try  curl -s localhost:9000/llm/chat -d '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'" >&2
exec "${BC_BUILD_DIR:-build}/src/balancedcall" serve "$@"
