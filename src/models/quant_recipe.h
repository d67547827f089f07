// Quantization recipes: which GGML type each tensor of a model gets.
//
// A recipe is one of llama.cpp's "file types" (llama_ftype): a default weight
// type plus llama.cpp's rules (llama_tensor_get_type) that give some tensors
// more bits, e.g. Q4_K_M = Q4_K, with Q6_K for output.weight and for attn_v /
// ffn_down in the layers use_more_bits() picks. Per-tensor overrides by name
// pattern (`--tensor-type 'ffn_.*_exps=iq1_s'`) come on top, which is how the
// published "dynamic" R1 mixes are made.
//
// Used by `r1 quantize`, `r1 convert --type` and the synthetic models, so the
// three agree on what "Q4_K_M" means.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "gguf/ggml_types.h"
#include "r1/status.h"

namespace r1 {

struct QuantRecipe {
  std::string name;       // canonical, upper case: "Q4_K_M", "IQ4_XS", "F16"
  GgmlType base;          // the default type of a weight matrix
  uint32_t llama_ftype;   // the value of general.file_type llama.cpp writes for it
  bool mix;               // true for the named mixes whose rules change some tensors
};

// "q4_k_m", "Q8_0", "iq4_xs", "bf16", ... (case-insensitive). The error lists
// the known names.
[[nodiscard]] StatusOr<QuantRecipe> ParseQuantRecipe(const std::string& name);
std::string QuantRecipeNames();  // "F32, F16, BF16, Q8_0, ..., Q4_K_M, ..."
// Every matrix in `t` (no mix rules), e.g. for `r1 gen --type q4_0`.
QuantRecipe SingleTypeRecipe(GgmlType t);

// A GGML type by name ("q6_k", "F16"; case-insensitive).
[[nodiscard]] StatusOr<GgmlType> ParseGgmlTypeName(const std::string& name);

// "REGEX=TYPE": tensors whose name matches REGEX (std::regex_search,
// ECMAScript) get TYPE (a GGML type name, case-insensitive).
struct TensorTypeOverride {
  std::string pattern;
  std::regex re;
  GgmlType type;
};
[[nodiscard]] StatusOr<TensorTypeOverride> ParseTensorTypeOverride(const std::string& spec);

// What the rules need to know about the model.
struct RecipeModelInfo {
  int n_layer = 0;   // transformer blocks in the file (blk.N), MTP/nextn blocks included
  int n_expert = 0;  // routed experts (0: dense)
  int n_gqa = 1;     // n_head / n_head_kv
};

// llama.cpp's use_more_bits(): the first and last eighth of the layers, and
// every third layer in between.
bool UseMoreBits(int layer, int n_layer);

// True for the tensors a quantizer converts: matrices named *.weight, except
// norms and the MoE router (ffn_gate_inp), which stay as they are.
bool IsQuantizableWeight(const std::string& name, const std::vector<int64_t>& ne);

struct TensorTypeOptions {
  std::vector<TensorTypeOverride> overrides;  // first match wins
  bool pure = false;                           // every matrix gets the base type (no mix rules)
  bool has_output_type = false;
  GgmlType output_type = GgmlType::Q6_K;       // --output-tensor-type
  bool has_embedding_type = false;
  GgmlType embedding_type = GgmlType::Q4_K;    // --token-embedding-type
};

// The type of tensor `name` (shape `ne`, GGUF order: ne[0] is the row length)
// under `r`. Rows that are not a whole number of the chosen type's blocks fall
// back as llama.cpp's quantizer does (Q4_K -> Q5_0, Q6_K -> Q8_0, ...), then
// to F16. Tensors that are not IsQuantizableWeight return `source`.
GgmlType RecipeTensorType(const QuantRecipe& r, const std::string& name, const std::vector<int64_t>& ne,
                          GgmlType source, const RecipeModelInfo& m, const TensorTypeOptions& opt = {});

}  // namespace r1
