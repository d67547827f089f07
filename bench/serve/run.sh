#!/usr/bin/env bash
# Serving benchmark on the 1.5B-shaped Q4_K_M synthetic model:
#   bench/serve/run.sh [build-dir] [extra bench.mjs args...]
# Generates the model once (build-dir/bench_1.5b_q4_k_m.gguf), starts
# `r1 serve`, runs bench.mjs at 1, 4, 8, 16 streams, and stops the server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build/release}"; shift || true
r1="$build/r1"
model="$build/bench_1.5b_q4_k_m.gguf"
port="${PORT:-18080}"
[ -f "$model" ] || "$r1" gen --size 1.5b --type q4_k_m -o "$model"
"$r1" serve -m "$model" --port "$port" --parallel 16 --ctx-size 1024 --no-log 2>"$build/bench_serve.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.5
done
if "$r1" bench --help >/dev/null 2>&1; then
  echo "r1 bench (single-sequence decode, for reference):"
  "$r1" bench -m "$model" -p 0 -n 32 2>&1 | tail -5 || true
fi
node "$here/bench.mjs" --base "http://127.0.0.1:$port" "$@"
