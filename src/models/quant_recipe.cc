#include "models/quant_recipe.h"

#include <cctype>
#include <cstdlib>

#include "kernels/quant.h"

namespace r1 {
namespace {

std::string Upper(const std::string& s) {
  std::string u;
  for (char c : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// llama.h's llama_ftype values, and the default type of each.
const QuantRecipe kRecipes[] = {
    {"F32", GgmlType::F32, 0, false},         {"F16", GgmlType::F16, 1, false},
    {"BF16", GgmlType::BF16, 32, false},      {"Q8_0", GgmlType::Q8_0, 7, false},
    {"Q4_0", GgmlType::Q4_0, 2, false},       {"Q4_1", GgmlType::Q4_1, 3, false},
    {"Q5_0", GgmlType::Q5_0, 8, false},       {"Q5_1", GgmlType::Q5_1, 9, false},
    {"Q2_K", GgmlType::Q2_K, 10, true},       {"Q2_K_S", GgmlType::Q2_K, 21, true},
    {"Q3_K_S", GgmlType::Q3_K, 11, true},     {"Q3_K_M", GgmlType::Q3_K, 12, true},
    {"Q3_K_L", GgmlType::Q3_K, 13, true},     {"Q4_K_S", GgmlType::Q4_K, 14, true},
    {"Q4_K_M", GgmlType::Q4_K, 15, true},     {"Q5_K_S", GgmlType::Q5_K, 16, true},
    {"Q5_K_M", GgmlType::Q5_K, 17, true},     {"Q6_K", GgmlType::Q6_K, 18, true},
    {"IQ4_NL", GgmlType::IQ4_NL, 25, true},   {"IQ4_XS", GgmlType::IQ4_XS, 30, true},
    {"IQ3_XXS", GgmlType::IQ3_XXS, 23, true}, {"IQ3_S", GgmlType::IQ3_S, 26, true},
    {"IQ3_M", GgmlType::IQ3_S, 27, true},     {"IQ2_XXS", GgmlType::IQ2_XXS, 19, true},
    {"IQ2_XS", GgmlType::IQ2_XS, 20, true},   {"IQ2_S", GgmlType::IQ2_S, 28, true},
    {"IQ2_M", GgmlType::IQ2_S, 29, true},     {"IQ1_S", GgmlType::IQ1_S, 24, true},
    {"IQ1_M", GgmlType::IQ1_M, 31, true},     {"TQ1_0", GgmlType::TQ1_0, 36, false},
    {"TQ2_0", GgmlType::TQ2_0, 37, false},
};

// blk.N.… → N, else -1.
int LayerOf(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::atoi(name.c_str() + 4);
}

bool Has(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

// llama.cpp's llama_tensor_get_type rules for the mixes (the common cases of
// the architectures r1 runs; the Falcon/MoE-8 special cases are left out).
GgmlType MixRule(const QuantRecipe& r, const std::string& name, const RecipeModelInfo& m) {
  const std::string& n = r.name;
  const int il = LayerOf(name);
  const int nl = m.n_layer > 0 ? m.n_layer : 1;
  const bool iq_low = n == "IQ2_XXS" || n == "IQ2_XS" || n == "IQ2_S" || n == "IQ2_M" || n == "IQ1_S" ||
                      n == "IQ1_M" || n == "IQ3_XXS";
  if (name == "output.weight" || name.ends_with(".nextn.shared_head_head.weight")) {
    if (n == "IQ2_XXS" || n == "IQ2_XS" || n == "IQ1_S" || n == "IQ1_M") return GgmlType::IQ4_XS;
    return GgmlType::Q6_K;
  }
  if (name == "token_embd.weight" || name.ends_with(".nextn.embed_tokens.weight")) {
    if (n == "IQ2_XXS" || n == "IQ2_XS" || n == "IQ1_S" || n == "IQ1_M") return GgmlType::Q2_K;
    if (n == "IQ2_S" || n == "IQ2_M" || n == "IQ3_XXS") return GgmlType::IQ3_S;
    return r.base;
  }
  if (Has(name, "attn_v.weight")) {
    if (n == "Q2_K") return m.n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    if (n == "Q3_K_M") return il < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (n == "Q3_K_L") return GgmlType::Q5_K;
    if (n == "Q4_K_M" || n == "Q5_K_M") return UseMoreBits(il, nl) ? GgmlType::Q6_K : r.base;
    if (n == "Q4_K_S") return il < 4 ? GgmlType::Q5_K : r.base;
    if (iq_low) return m.n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q2_K;
    return r.base;
  }
  if (Has(name, "ffn_down")) {
    if (n == "Q2_K") return GgmlType::Q3_K;
    if (n == "Q3_K_M") return il < nl / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (n == "Q3_K_L") return GgmlType::Q5_K;
    if (n == "Q4_K_M" || n == "Q5_K_M") return UseMoreBits(il, nl) ? GgmlType::Q6_K : r.base;
    if (n == "Q4_K_S") return il < nl / 8 ? GgmlType::Q5_K : r.base;
    return r.base;
  }
  if (Has(name, "attn_output.weight")) {
    if (m.n_expert == 8) {  // Mixtral-style; DeepSeek's 256 take the dense rules
      if (n == "Q2_K" || n == "Q3_K_S" || n == "Q3_K_M" || n == "Q3_K_L" || n == "Q4_K_S" || n == "Q4_K_M" ||
          iq_low)
        return GgmlType::Q5_K;
      return r.base;
    }
    if (n == "Q2_K") return GgmlType::Q3_K;
    if (n == "Q3_K_M") return GgmlType::Q4_K;
    if (n == "Q3_K_L") return GgmlType::Q5_K;
    return r.base;
  }
  return r.base;
}

GgmlType Fit(GgmlType t, int64_t k) {
  if (k % GgmlTypeInfo(t).block_size == 0) return t;
  const GgmlType f = kernels::RowFallbackType(t);
  if (f != t && k % GgmlTypeInfo(f).block_size == 0) return f;
  return GgmlType::F16;
}

}  // namespace

StatusOr<GgmlType> ParseGgmlTypeName(const std::string& s) {
  const std::string u = Upper(s);
  for (int id = 0; id < 64; ++id) {
    const auto t = static_cast<GgmlType>(id);
    if (GgmlTypeInfo(t).name != nullptr && GgmlTypeName(t) == u) return t;
  }
  return Status::InvalidArgument("unknown GGML type '" + s + "'");
}

StatusOr<QuantRecipe> ParseQuantRecipe(const std::string& name) {
  const std::string u = Upper(name);
  for (const QuantRecipe& r : kRecipes)
    if (r.name == u) return r;
  return Status::InvalidArgument("unknown quantization type '" + name + "' (known: " + QuantRecipeNames() + ")");
}

QuantRecipe SingleTypeRecipe(GgmlType t) {
  for (const QuantRecipe& r : kRecipes)
    if (r.base == t && !r.mix) return r;
  return {GgmlTypeName(t), t, 0, false};
}

std::string QuantRecipeNames() {
  std::string s;
  for (const QuantRecipe& r : kRecipes) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}

StatusOr<TensorTypeOverride> ParseTensorTypeOverride(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    return Status::InvalidArgument("--tensor-type '" + spec + "': expected PATTERN=TYPE, e.g. 'ffn_.*_exps=iq1_s'");
  TensorTypeOverride o;
  o.pattern = spec.substr(0, eq);
  auto t = ParseGgmlTypeName(spec.substr(eq + 1));
  if (!t.ok()) return t.status().WithContext("--tensor-type '" + spec + "'");
  o.type = *t;
  try {
    o.re = std::regex(o.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument("--tensor-type '" + spec + "': bad pattern: " + e.what());
  }
  return o;
}

bool UseMoreBits(int layer, int n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

bool IsQuantizableWeight(const std::string& name, const std::vector<int64_t>& ne) {
  if (ne.size() < 2 || ne[1] <= 1) return false;
  if (!name.ends_with(".weight")) return false;
  return !Has(name, "norm") && !Has(name, "ffn_gate_inp");
}

GgmlType RecipeTensorType(const QuantRecipe& r, const std::string& name, const std::vector<int64_t>& ne,
                          GgmlType source, const RecipeModelInfo& m, const TensorTypeOptions& opt) {
  if (!IsQuantizableWeight(name, ne)) return source;
  GgmlType t = r.base;
  bool chosen = false;
  for (const TensorTypeOverride& o : opt.overrides) {
    if (std::regex_search(name, o.re)) {
      t = o.type;
      chosen = true;
      break;
    }
  }
  if (!chosen && opt.has_output_type && name == "output.weight") t = opt.output_type, chosen = true;
  if (!chosen && opt.has_embedding_type && name == "token_embd.weight") t = opt.embedding_type, chosen = true;
  if (!chosen && r.mix && !opt.pure) t = MixRule(r, name, m);
  return Fit(t, ne[0]);
}

}  // namespace r1
