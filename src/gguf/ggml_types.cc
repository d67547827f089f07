#include "gguf/ggml_types.h"

namespace r1 {

GgmlTypeTraits GgmlTypeInfo(uint32_t id) {
  // Block layouts from ggml-common.h; QK_K = 256.
  switch (static_cast<GgmlType>(id)) {
    case GgmlType::F32: return {"F32", 1, 4};
    case GgmlType::F16: return {"F16", 1, 2};
    case GgmlType::Q4_0: return {"Q4_0", 32, 2 + 16};
    case GgmlType::Q4_1: return {"Q4_1", 32, 2 + 2 + 16};
    case GgmlType::F8_E4M3_B64: return {"F8_E4M3", 64, 4 + 64};
    case GgmlType::Q5_0: return {"Q5_0", 32, 2 + 4 + 16};
    case GgmlType::Q5_1: return {"Q5_1", 32, 2 + 2 + 4 + 16};
    case GgmlType::Q8_0: return {"Q8_0", 32, 2 + 32};
    case GgmlType::Q8_1: return {"Q8_1", 32, 4 + 32};
    case GgmlType::Q2_K: return {"Q2_K", 256, 256 / 16 + 256 / 4 + 2 + 2};
    case GgmlType::Q3_K: return {"Q3_K", 256, 256 / 8 + 256 / 4 + 12 + 2};
    case GgmlType::Q4_K: return {"Q4_K", 256, 2 + 2 + 12 + 256 / 2};
    case GgmlType::Q5_K: return {"Q5_K", 256, 2 + 2 + 12 + 256 / 8 + 256 / 2};
    case GgmlType::Q6_K: return {"Q6_K", 256, 256 / 2 + 256 / 4 + 256 / 16 + 2};
    case GgmlType::Q8_K: return {"Q8_K", 256, 4 + 256 + 256 / 16 * 2};
    case GgmlType::IQ2_XXS: return {"IQ2_XXS", 256, 2 + 256 / 8 * 2};
    case GgmlType::IQ2_XS: return {"IQ2_XS", 256, 2 + 256 / 8 * 2 + 256 / 32};
    case GgmlType::IQ3_XXS: return {"IQ3_XXS", 256, 2 + 256 / 4 + 256 / 8};
    case GgmlType::IQ1_S: return {"IQ1_S", 256, 2 + 256 / 8 + 256 / 16};
    case GgmlType::IQ4_NL: return {"IQ4_NL", 32, 2 + 16};
    case GgmlType::IQ3_S: return {"IQ3_S", 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4};
    case GgmlType::IQ2_S: return {"IQ2_S", 256, 2 + 256 / 4 + 256 / 16};
    case GgmlType::IQ4_XS: return {"IQ4_XS", 256, 2 + 2 + 256 / 2 + 256 / 64};
    case GgmlType::I8: return {"I8", 1, 1};
    case GgmlType::I16: return {"I16", 1, 2};
    case GgmlType::I32: return {"I32", 1, 4};
    case GgmlType::I64: return {"I64", 1, 8};
    case GgmlType::F64: return {"F64", 1, 8};
    case GgmlType::IQ1_M: return {"IQ1_M", 256, 256 / 8 + 256 / 16 + 256 / 32};
    case GgmlType::BF16: return {"BF16", 1, 2};
    case GgmlType::TQ1_0: return {"TQ1_0", 256, 2 + 4 * 13};
    case GgmlType::TQ2_0: return {"TQ2_0", 256, 2 + 64};
  }
  return {nullptr, 0, 0};
}

std::string GgmlTypeName(GgmlType t) {
  GgmlTypeTraits tr = GgmlTypeInfo(t);
  if (tr.name) return tr.name;
  return "type#" + std::to_string(static_cast<uint32_t>(t));
}

}  // namespace r1
