#!/bin/bash
# Runs the registrar benchmark (cppbx against Kamailio, same run). Not part of
# ctest: it takes a few minutes and wants a quiet machine.
#   bench/run.sh [path/to/cppbx] [bench.py options...]
# Without a binary it builds a Release cppbx (and the floor_responder bench.py
# measures beside it) in ../build-bench (ninja -j2), as a
# Debug build would not be a fair comparison with Kamailio's optimised one.
# Throughput per user backend type: bench/backends/bench_backends.py path/to/cppbx
# (see bench/README.md).
# CPPBX_BENCH_SCRIPT picks another bench script with the same command line
# (bench/calls/run.sh uses it). -h/--help prints the script's options without
# building anything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
script=${CPPBX_BENCH_SCRIPT:-$root/bench/registrar/bench.py}
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  exec /usr/bin/python3 -B "$script" --help
fi
if [[ $# -gt 0 && -x "$1" && ! -d "$1" ]]; then
  binary=$1
  shift
else
  build=${CPPBX_BENCH_BUILD:-$root/../build-bench}
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" -j2 cppbx floor_responder
  binary=$build/cppbx
fi
for tool in sipp /usr/sbin/kamailio; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
exec /usr/bin/python3 -B "$script" "$binary" "$@"
