#!/bin/bash
# ctest entry: bash test_console.sh /path/to/cppbx [screenshot folder]
# Installs the pinned playwright-core (npm ci) when node_modules is missing
# or older than the lockfile, then runs the console's browser test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
installed=$here/node_modules/.package-lock.json
if [[ ! -f $installed || $here/package-lock.json -nt $installed ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/console_test.mjs" "$@"
