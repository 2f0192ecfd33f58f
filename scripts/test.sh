#!/usr/bin/env bash
# Command 2 of the README: installs what is missing (build and test
# dependencies, SIPp, clang for the fuzzer), builds with AddressSanitizer and
# UBSan, and runs the whole test suite with ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh" --with-tests
build_dir="$root/build/test"
# -O1 -g1 (line tables, enough for sanitizer stack traces) instead of
# RelWithDebInfo's -O2 -g: with ASan and UBSan, -O2 -g took over 16 minutes
# for the WebSocket transport alone on a 2-core machine, -O1 -g1 under 8.
"$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCPPBX_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCPPBX_BUILD_BENCH=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cd "$build_dir"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
