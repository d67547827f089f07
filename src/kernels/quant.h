// Quantized block formats: dequantization, quantization and dot products.
//
// Block layouts are bit-compatible with GGUF / ggml (ggml-common.h). A weight
// row of type T is dotted against an activation row quantized to
// VecDotType(T):
//
//   weight type              activation type   notes
//   F32                      F32
//   F16                      F32               F16C / AVX-512 convert
//   BF16                     BF16              AVX-512 BF16 vdpbf16ps
//   Q4_0, Q5_0, Q8_0         Q8_0              32-element blocks
//   Q4_K, Q5_K, Q6_K         Q8_K              256-element super-blocks
//
// Every type has a scalar reference (RefVecDot, ref/) and a fast path for the
// running CPU (FastVecDot, x86/), chosen at run time. Tests check they agree.
//
// Batch invariance: a VecDot's result depends only on its two input rows, so a
// token's logits do not depend on how tokens are batched.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/ggml_types.h"

namespace r1::kernels {

// True if `t` can be used as a weight type by the matmul kernels.
bool IsSupported(GgmlType t);

// The activation format that weights of type `t` are dotted against.
GgmlType VecDotType(GgmlType t);

// Converts `n` elements (a multiple of the block size) of type `t` to float.
// Supported for every IsSupported type and for Q8_K.
void Dequantize(GgmlType t, const void* src, float* dst, int64_t n);

// Quantizes `n` floats into type `t` (a multiple of the block size). Used for
// activations (Q8_0, Q8_K, BF16, F32) and by the project's own quantizer for
// weights (every IsSupported type). Scalar, deterministic.
void Quantize(GgmlType t, const float* src, void* dst, int64_t n);

// sum_i w[i] * x[i] over `n` elements: `w` is a row of the weight type, `x` a
// row of VecDotType(weight type).
using VecDotFn = float (*)(int64_t n, const void* w, const void* x);

VecDotFn RefVecDot(GgmlType weight_type);   // scalar reference (ref/)
VecDotFn FastVecDot(GgmlType weight_type);  // best path for this CPU; falls back to RefVecDot

// IEEE half / bfloat16 conversions (round to nearest even).
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);
float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);

}  // namespace r1::kernels
