#!/usr/bin/env bash
# Serving benchmark on the 1.5B-shaped Q4_K_M synthetic model:
#   bench/serve/run.sh [build-dir] [extra bench.mjs args...]
# Generates the model once (build-dir/bench_1.5b_q4_k_m.gguf, or $MODEL),
# starts `r1 serve`, runs bench.mjs (default: 1, 4, 8, 16 streams), and stops
# the server. The prefix-cache TTFT (cold vs warm ~2k-token prefix):
#   CTX=4096 PARALLEL=2 bench/serve/run.sh build/release --prefix-words 580 --rounds 5
# The reference `r1 bench` gets the server's --threads and --no-repack. On a
# VM whose memory speed depends on where a fresh allocation lands (the
# repacked copy is a fresh allocation in each process), compare with
# SERVE_ARGS="--no-repack": both processes then read the same page-cache
# pages, so the ratio shows the server's own overhead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build/release}"; shift || true
r1="$build/r1"
model="${MODEL:-$build/bench_1.5b_q4_k_m.gguf}"
port="${PORT:-18080}"
[ -f "$model" ] || "$r1" gen --size 1.5b --type q4_k_m -o "$model"
"$r1" serve -m "$model" --port "$port" --parallel "${PARALLEL:-16}" --ctx-size "${CTX:-1024}" --no-log \
  ${SERVE_ARGS:-} 2>"$build/bench_serve.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.5
done
if [[ " $* " != *" --prefix-words "* ]] && "$r1" bench --help >/dev/null 2>&1; then
  echo "r1 bench (single-sequence decode, for reference):"
  ref_args=()
  read -r -a serve_args <<<"${SERVE_ARGS:-}"
  for ((i = 0; i < ${#serve_args[@]}; ++i)); do
    case "${serve_args[i]}" in
      --no-repack) ref_args+=(--no-repack) ;;
      -t|--threads) ref_args+=(--threads "${serve_args[i + 1]:-}") ;;
    esac
  done
  "$r1" bench -m "$model" -p 0 -n 32 "${ref_args[@]}" 2>&1 | tail -5 || true
fi
node "$here/bench.mjs" --base "http://127.0.0.1:$port" "$@"
