#!/bin/bash
# Runs the call benchmark (cppbx against Kamailio, same run): bench/run.sh's
# build-or-use-a-binary logic with bench/calls/bench_calls.py. Not part of ctest.
#   bench/calls/run.sh [path/to/cppbx] [--rates 250,500,... --calls N --hold S ...]
#   bench/calls/run.sh --help
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CPPBX_BENCH_SCRIPT=$here/bench_calls.py exec "$here/../run.sh" "$@"
