#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. release build + ctest (numerics against the numpy reference, tokenizer
#      vectors and JS differential, chat templates against jinja2, server e2e);
#   2. ASan+UBSan build + ctest;
#   3. libFuzzer targets (clang), each for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
start=$(date +%s)

echo "== release build and tests"
scripts/build.sh release
ctest --preset release

echo "== ASan+UBSan build and tests"
scripts/build.sh asan
ctest --preset asan

echo "== fuzzers (${R1_FUZZ_SECONDS:=20}s each)"
scripts/build.sh fuzz
mkdir -p build/fuzz/corpus
for f in build/fuzz/*_fuzz; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  mkdir -p "build/fuzz/corpus/$name"
  echo "-- $name"
  "$f" -max_total_time="$R1_FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    "build/fuzz/corpus/$name" 2>&1 | tail -3
done
echo "== all tests passed in $(( $(date +%s) - start ))s"
