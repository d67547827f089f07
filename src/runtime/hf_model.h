// A Hugging Face model directory (config.json, model.safetensors or shards
// with model.safetensors.index.json, tokenizer.json, tokenizer_config.json)
// as the GGUF the models load: llama.cpp's names and keys (models/hf_names),
// experts stacked, the MTP layer (model.layers.{num_hidden_layers}) as the
// nextn block.
//
// Used two ways: `r1 convert` writes it out (quantizing as asked), and
// OpenModelFile opens it in place for every command that takes -m: BF16, F16
// and F32 matrices are read from the safetensors mappings without a copy
// (their bytes are GGML's), stacked experts are copied once in their own type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "r1/status.h"
#include "safetensors/safetensors.h"

namespace r1 {

// One GGUF tensor and the safetensors tensors it is made of.
struct HfTensor {
  std::string name;                                 // GGUF
  std::vector<int64_t> ne;                          // GGUF order, innermost first
  std::vector<const safetensors::Tensor*> parts;    // one, or the experts in order
  std::vector<const safetensors::Tensor*> scales;   // FP8: weight_scale_inv per part (null otherwise)
};

struct HfModel {
  std::string dir;
  std::string arch;     // GGUF architecture: deepseek2, qwen2, qwen3, llama
  int n_main = 0;       // num_hidden_layers
  int n_nextn = 0;      // MTP blocks present
  nlohmann::json config;
  std::unique_ptr<safetensors::Checkpoint> ckpt;
  gguf::Writer meta;              // hyperparameters and tokenizer keys (no tensors)
  std::vector<HfTensor> tensors;  // the embedding, the blocks in order, the head
  // The shard holding `t` (for messages).
  std::string ShardPath(const safetensors::Tensor& t) const;
};

// Reads config.json, the checkpoint's headers and the tokenizer files; maps
// every tensor to its GGUF name. Errors name the file, tensor and field.
StatusOr<std::unique_ptr<HfModel>> ReadHfModel(const std::string& dir);

// All of `t`'s values as float, exactly: BF16/F16/F32, and FP8 e4m3 times its
// 128x128 block's weight_scale_inv.
[[nodiscard]] Status DecodeHfTensor(const HfModel& m, const HfTensor& t, float* out);

// The directory as an in-memory GGUF file (see above). DeepSeek's FP8
// matrices stay FP8: F8_E4M3_B64 rows (kernels/blocks.h), 1.06 bytes per
// weight, computed by the FP8 dot kernels; no upcast.
StatusOr<std::unique_ptr<gguf::File>> OpenHfDirectory(const std::string& dir);

// A GGUF file (or the first part of a split one), or a Hugging Face directory.
StatusOr<std::unique_ptr<gguf::File>> OpenModelFile(const std::string& path);

}  // namespace r1
