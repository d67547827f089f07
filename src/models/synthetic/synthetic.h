// Random-weight GGUF models for tests and benchmarks.
//
// Writes the same keys and tensor names as llama.cpp's converter for each
// architecture, so the loader sees exactly what it sees with real files. The
// file also carries a small byte-level BPE vocabulary (256 byte tokens, merges
// learned from a built-in English text, the R1 special tokens, and unused
// filler up to n_vocab) and an R1-style chat template, so `r1 run`/`r1 chat`
// work end to end on it.
//
// Weight types: F32/F16/BF16/Q8_0/Q4_0/Q5_0/Q4_K/Q5_K/Q6_K for every matrix,
// or the Q4_K_M mix (llama.cpp's recipe: Q4_K, with Q6_K for the output,
// and for attn_v / ffn_down of the first and last eighth of the layers and
// every third layer between). A K-quant row whose length is not a multiple of
// 256 falls back to Q5_0 (for Q4_K/Q5_K) or Q8_0 (for Q6_K), as llama.cpp does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "gguf/ggml_types.h"
#include "r1/status.h"

namespace r1 {

struct SyntheticSpec {
  std::string arch = "qwen2";  // llama | qwen2 | qwen3
  int64_t n_vocab = 320;
  int64_t n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int head_dim = 0;            // 0: n_embd / n_head (qwen3 may differ)
  int64_t n_ff = 128;
  int64_t n_ctx = 4096;
  double rope_base = 0;        // 0: the architecture's usual value
  bool tied_embeddings = false;
  bool llama3_rope_freqs = true;  // llama: write rope_freqs.weight
  GgmlType type = GgmlType::F32;
  bool q4_k_m = false;         // overrides `type` with the Q4_K_M mix
  uint64_t seed = 1;
  bool with_tokenizer = true;

  // The R1-Distill-Qwen-1.5B shape, for benchmarks.
  static SyntheticSpec Qwen15B();
};

// Parses "tiny", "small", "1.5b" with an arch and type ("q4_k_m", "q8_0"...).
StatusOr<SyntheticSpec> SyntheticPreset(const std::string& size, const std::string& arch,
                                        const std::string& type);

// "q8_0", "Q4_K", ... → *type; "q4_k_m" → *q4_k_m (the mix). Shared by the
// generators of every architecture.
Status ParseSyntheticWeightType(const std::string& name, GgmlType* type, bool* q4_k_m);

using ProgressFn = std::function<void(int64_t done, int64_t total)>;

Status WriteSyntheticModel(const SyntheticSpec& spec, const std::string& path, const ProgressFn& progress = {});

}  // namespace r1
