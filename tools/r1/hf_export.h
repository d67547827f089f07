// A model as a Hugging Face directory, like the ones DeepSeek and Qwen
// publish: config.json (DeepseekV3ForCausalLM / Qwen2ForCausalLM fields),
// model.safetensors (BF16; the MTP block as the extra model.layers.N),
// tokenizer.json, tokenizer_config.json and generation_config.json. With
// fp8, DeepSeek's FP8 form: the attention and expert/MLP projections in
// float8 e4m3 with a float32 weight_scale_inv per 128×128 block, and the
// quantization_config that says so.
#pragma once

#include "safetensors/safetensors.h"

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "r1/status.h"

namespace r1::cli {

// One tensor in GGUF terms: llama.cpp name, ne (innermost first), float data.
struct FloatTensor {
  std::string name;
  std::vector<int64_t> ne;
  std::vector<float> data;
};

struct HfExportInput {
  const gguf::File* meta = nullptr;  // hyperparameters (the checkpoint's metadata)
  int64_t n_vocab = 0;
  std::vector<FloatTensor> tensors;  // full-vocabulary tensors, GGUF names
  nlohmann::json tokenizer;          // tokenizer.json
  nlohmann::json tokenizer_config;   // tokenizer_config.json
  int64_t bos_id = -1, eos_id = -1;
  bool fp8 = false;
};

using safetensors::E4M3ToFloat;
using safetensors::FloatToE4M3;

Status WriteHfDirectory(const HfExportInput& in, const std::string& dir);

}  // namespace r1::cli
