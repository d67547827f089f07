#!/usr/bin/env bash
# The CPU kernel issue's table, as medians of N runs of `r1 bench --json`:
#   bench/cpu/run.sh [build-dir] [N]
# Generates the synthetic models once (build-dir/bench_*.gguf, or $Q4, $Q8,
# $DS; the V2-Lite-shaped one is ~10 GB, skipped unless $DS is set or
# WITH_MOE=1). Pairs that are compared (depth 256 vs 8192, 1 vs 2 threads,
# 1 vs 8 sequences) run alternately, because this class of VM drifts by
# ±15% between runs and the speed of its memory depends on where an
# allocation lands (the weights' own bandwidth is printed beside it).
set -euo pipefail
build="${1:-build/release}"
n="${2:-3}"
r1="$build/r1"
q4="${Q4:-$build/bench_1.5b_q4_k_m.gguf}"
q8="${Q8:-$build/bench_1.5b_q8_0.gguf}"
ds="${DS:-$build/bench_v2lite_q4_k_m.gguf}"
[ -f "$q4" ] || "$r1" gen --size 1.5b --type q4_k_m -o "$q4"
[ -f "$q8" ] || "$r1" gen --size 1.5b --type q8_0 -o "$q8"
moe=0
if [ -n "${DS:-}" ] || [ "${WITH_MOE:-0}" = 1 ]; then
  [ -f "$ds" ] || "$r1" gen-deepseek2 --size v2-lite --type q4_k_m -o "$ds"
  moe=1
fi

# row LABEL REPEATS ARGS... : one line of medians [min-max]
row() {
  local label=$1 reps=$2
  shift 2
  for _ in $(seq "$reps"); do "$r1" bench "$@" --json 2>/dev/null; done | python3 -c '
import json, statistics as st, sys
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
def m(k):
    v = [r[k] for r in rows]
    return "%7.2f [%.2f-%.2f]" % (st.median(v), min(v), max(v))
print("%-24s prefill %s  decode %s  bandwidth %s GB/s  weights mem %s GB/s" % (
    sys.argv[1], m("prefill_tps"), m("decode_tps"), m("bandwidth_gbs"), m("weights_bandwidth_gbs")))
' "$label"
}

# pair LABEL_A LABEL_B "ARGS_A" "ARGS_B": n alternated runs of each.
pair() {
  for _ in $(seq "$n"); do
    # shellcheck disable=SC2086
    row "$1" 1 $3
    # shellcheck disable=SC2086
    row "$2" 1 $4
  done
}

row "decode Q4_K_M" "$n" -m "$q4" -p 0 -n 128
row "decode Q8_0" "$n" -m "$q8" -p 0 -n 128
row "pp512 Q4_K_M" "$n" -m "$q4" -p 512 -n 0
row "pp512 Q8_0" "$n" -m "$q8" -p 512 -n 0
pair "depth 256" "depth 8192" "-m $q4 -p 0 -n 32 -d 256 --fast-depth" "-m $q4 -p 0 -n 32 -d 8192 --fast-depth"
pair "pp256 1 thread" "pp256 2 threads" "-m $q4 -p 256 -n 0 -t 1" "-m $q4 -p 256 -n 0 -t 2"
pair "1 sequence" "8 sequences" "-m $q4 -p 0 -n 64" "-m $q4 -p 0 -n 64 --parallel 8"
if [ "$moe" = 1 ]; then
  row "V2-Lite pp512" "$n" -m "$ds" -p 512 -n 0
  row "V2-Lite decode" "$n" -m "$ds" -p 0 -n 64
  pair "V2-Lite depth 256" "V2-Lite depth 4096" "-m $ds -p 0 -n 32 -d 256 --fast-depth" \
    "-m $ds -p 0 -n 32 -d 4096 --fast-depth"
fi
