#!/usr/bin/env bash
# Command 1 of the README: installs what is missing, builds cppbx (Release)
# and starts it. Without arguments it runs on the embedded default
# configuration (SIP on UDP/TCP 5060, SQLite in the working folder, memory
# locator, one first user and, on the first start, a console administrator
# printed in the log). Extra arguments go to cppbx,
# e.g. scripts/run.sh --conf config.toml
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build/release" -DCMAKE_BUILD_TYPE=Release \
  -DCPPBX_BUILD_TESTS=OFF -DCPPBX_BUILD_BENCH=OFF
exec "$root/build/release/cppbx" "$@"
