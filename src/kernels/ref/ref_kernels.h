// Scalar reference kernels (ref/*.cc): the definition of every format's
// arithmetic. Internal to src/kernels; callers use quant.h.
#pragma once

#include <cstdint>

#include "gguf/ggml_types.h"
#include "kernels/quant.h"

namespace r1::kernels::ref {

// Return false when `t` has no converter (the caller reports the misuse).
bool DequantizeRow(GgmlType t, const void* src, float* dst, int64_t n);
// `importance` (may be null): n per-column weights from an importance matrix
// (mean square inputs); the types without a weighted fit (Q8_0, the ternary
// ones, the float types) ignore it, as llama.cpp's do.
bool QuantizeRow(GgmlType t, const float* src, void* dst, int64_t n, const float* importance = nullptr);

// Dot kernels of one weight type; all nullptr if unsupported.
DotKernels Kernels(GgmlType weight_type);

// The codebook types IQ2_XXS .. IQ1_M (iq.cc); false / all nullptr for others.
bool DequantizeIqRow(GgmlType t, const void* src, float* dst, int64_t n);
DotKernels IqKernels(GgmlType weight_type);

}  // namespace r1::kernels::ref
