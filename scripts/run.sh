#!/usr/bin/env bash
# Sets up r1.cpp (dependencies + release build) and runs the main job: a chat
# with the thinking shown.
#
#   scripts/run.sh                      # no model: generates a synthetic one and chats with it
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
No model given. To chat with DeepSeek-R1-Distill-Qwen-1.5B (about 1.1 GB), download a GGUF, e.g.
  https://huggingface.co/bartowski/DeepSeek-R1-Distill-Qwen-1.5B-GGUF  (file: *Q4_K_M.gguf)
and run:  scripts/run.sh DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf

Meanwhile, here is a synthetic random-weight model (its answers are noise, but
every stage — template, tokenizer, thinking, sampling — is real):
MSG
  model=build/synthetic-qwen2-small.gguf
  [ -f "$model" ] || "$R1" gen --arch qwen2 --size small --type q8_0 -o "$model"
fi
if [ -t 0 ]; then
  exec "$R1" chat -m "$model" ${R1_ARGS:-}
else
  exec "$R1" chat -m "$model" -n 64 ${R1_ARGS:-}
fi
