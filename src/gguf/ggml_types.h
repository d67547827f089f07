// Tensor element types, numbered as in GGUF files (ggml's `enum ggml_type`).
//
// Quantized types store `block_size` elements in `type_size` bytes. A row of
// ne[0] elements must be a whole number of blocks. The table covers every id a
// GGUF file may carry so the reader can size any tensor; which ones r1.cpp can
// compute with is decided by the kernels (kernels::IsSupported).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace r1 {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  // r1's own, never in a GGUF file (the reader refuses it): DeepSeek's FP8
  // e4m3 weights in memory, 64-element blocks each with its f32 scale (the
  // checkpoint's 128x128 weight_scale_inv), 1.06 bytes per weight. The id is
  // one ggml retired (Q4_2).
  F8_E4M3_B64 = 4,
  // 4 and 5 were Q4_2 / Q4_3, removed from the format.
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
};

struct GgmlTypeTraits {
  const char* name;   // nullptr for an id that is not a known type
  int64_t block_size; // elements per block
  size_t type_size;   // bytes per block
};

// Traits for a raw type id; name == nullptr when the id is unknown.
GgmlTypeTraits GgmlTypeInfo(uint32_t type_id);
inline GgmlTypeTraits GgmlTypeInfo(GgmlType t) { return GgmlTypeInfo(static_cast<uint32_t>(t)); }
std::string GgmlTypeName(GgmlType t);  // "Q4_K", or "type#99" when unknown

// Bytes for a row of `n` elements (n must be a multiple of block_size).
inline size_t GgmlRowSize(GgmlType t, int64_t n) {
  GgmlTypeTraits tr = GgmlTypeInfo(t);
  return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

}  // namespace r1
