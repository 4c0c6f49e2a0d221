#!/usr/bin/env bash
# Builds the libFuzzer target for HTTP request parsing and routing (fuzz/fuzz_request.cpp) with clang, ASan and
# UBSan in its own build directory (build-fuzz), then fuzzes for FUZZ_SECONDS (default 30) from the seed corpus in
# fuzz/corpus. Exits non-zero when the fuzzer finds a crash, a sanitizer report or a broken invariant; the input
# that did it is left in build-fuzz/artifacts/ (reproduce: build-fuzz/fuzz_request <file>).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-/root/.cache/ccache}
export CCACHE_BASEDIR=$PWD
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTIERCEL_FUZZ=ON -DTIERCEL_SANITIZE=address,undefined -DTIERCEL_BUILD_TESTS=OFF -DTIERCEL_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz -j "$jobs" fuzz_request

# The corpus grows in a scratch copy, so the checked-in seeds stay small and reviewed.
work=build-fuzz/corpus
mkdir -p "$work" build-fuzz/artifacts
cp -n fuzz/corpus/* "$work"/ 2>/dev/null || true
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "fuzz: fuzz_request for ${seconds}s"
build-fuzz/fuzz_request -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$work"
