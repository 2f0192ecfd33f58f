#!/usr/bin/env bash
# Builds the SIP parser fuzzer with clang (libFuzzer + ASan + UBSan) in a
# temporary directory and runs it for a bounded time, seeded with the RFC 4475
# and RFC 5118 torture messages. Exits non-zero when the fuzzer finds a crash,
# a leak, undefined behaviour or a memory blow-up.
#
# usage: fuzz/run_fuzzer.sh [seconds=60]
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${CPPBX_SHARED_DIR:-$root/../shared}"
cxx="${CXX_FUZZ:-clang++-14}"
work="$(mktemp -d "${TMPDIR:-/tmp}/cppbx-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

sources=("$root"/fuzz/sip_parser_fuzzer.cpp "$root"/src/sip/*.cpp "$root"/src/common/strings.cpp)
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I "$root/src" "${sources[@]}" -o "$work/sip_parser_fuzzer"

mkdir -p "$work/corpus"
for dir in "$shared/torture/rfc4475" "$shared/torture/rfc5118"; do
  if [ -d "$dir" ]; then cp "$dir"/*.dat "$work/corpus/"; fi
done
# Inputs that once broke an invariant stay in the corpus, so every run
# re-checks them first.
cp "$root"/fuzz/regressions/crash-* "$work/corpus/"

# Crash reproducers outlive the temporary build directory.
artifacts="${CPPBX_FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/cppbx-fuzz-artifacts}"
mkdir -p "$artifacts"

cd "$work"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ./sip_parser_fuzzer -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts/" corpus
