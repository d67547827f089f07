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
//   Q4_0, Q5_0, Q8_0,        Q8_0              32-element blocks
//   Q4_1, Q5_1, IQ4_NL
//   Q2_K .. Q6_K, IQ4_XS,    Q8_K              256-element super-blocks
//   TQ1_0, TQ2_0, IQ2_XXS,
//   IQ2_XS, IQ2_S, IQ3_XXS,
//   IQ3_S, IQ1_S, IQ1_M
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

// True if Quantize can produce `t` as a weight type: every IsSupported type
// except the IQ1/IQ2/IQ3 codebook types, which r1 computes with but does not
// make (their quantizers search codebook neighbourhoods with an importance
// matrix; llama.cpp's llama-quantize makes them).
bool CanQuantize(GgmlType t);

// The type llama.cpp's quantizer substitutes for `t` when a row's length is not
// a multiple of t's 256-element super-block (Q4_K -> Q5_0, Q6_K -> Q8_0,
// IQ4_XS -> IQ4_NL, ...); `t` itself for the 32-element and float types.
GgmlType RowFallbackType(GgmlType t);

// The activation format that weights of type `t` are dotted against.
GgmlType VecDotType(GgmlType t);

// Converts `n` elements (a multiple of the block size) of type `t` to float.
// Supported for every IsSupported type and for Q8_K.
void Dequantize(GgmlType t, const void* src, float* dst, int64_t n);

// Quantizes `n` floats into type `t` (a multiple of the block size). Used for
// activations (Q8_0, Q8_K, BF16, F32) and by the project's own quantizer for
// weights (every IsSupported type). Scalar, deterministic.
void Quantize(GgmlType t, const float* src, void* dst, int64_t n);
// The same for a weight row with an importance matrix's n column weights
// (gguf/imatrix.h: mean square inputs): each element's error is weighted by
// importance[j] * sqrt(sigma^2 + x_j^2), as in llama.cpp. Q8_0, the ternary
// and the float types ignore it.
void QuantizeWeighted(GgmlType t, const float* src, void* dst, int64_t n, const float* importance);

// sum_i w[i] * x[i] over `n` elements: `w` is a row of the weight type, `x` a
// row of VecDotType(weight type).
using VecDotFn = float (*)(int64_t n, const void* w, const void* x);

VecDotFn RefVecDot(GgmlType weight_type);   // scalar reference (ref/)
VecDotFn FastVecDot(GgmlType weight_type);  // best path for this CPU; falls back to RefVecDot

// Multi-row dots for register-blocked matmuls. Each output is bit-identical to
// the single VecDot of the same path (FastVecDot4 <-> FastVecDot, Ref <-> Ref)
// on the same two rows, so blocking never changes a result.
//
// Four consecutive weight rows (row r at w + r * w_row_bytes) against one
// activation row: out4[r] = VecDot(n, w + r * w_row_bytes, x). Decode: the
// activation row is loaded once for four weight rows.
using VecDot4Fn = void (*)(int64_t n, const void* w, size_t w_row_bytes, const void* x,
                           float* out4);
// One weight row against four activation rows (row t at x + t * x_row_bytes):
// out4[t] = VecDot(n, w, x + t * x_row_bytes). Prefill: each weight block is
// decoded once for four tokens.
using VecDotX4Fn = void (*)(int64_t n, const void* w, const void* x, size_t x_row_bytes,
                            float* out4);

VecDot4Fn RefVecDot4(GgmlType weight_type);
VecDot4Fn FastVecDot4(GgmlType weight_type);
VecDotX4Fn RefVecDotX4(GgmlType weight_type);
VecDotX4Fn FastVecDotX4(GgmlType weight_type);

// Explicit access to one implementation, for tests and benchmarks. The Fast*
// functions above pick, once per process: kAvx512 if the CPU has it, else
// kAvx2, else kRef; R1_FORCE_SCALAR=1 in the environment forces kRef (see
// cpu.h). Results differ between paths only in float summation order (the
// K-quant paths are bit-identical to the reference; see x86/x86_kernels.h).
enum class KernelPath { kRef, kAvx2, kAvx512 };
struct DotKernels {
  VecDotFn dot = nullptr;
  VecDot4Fn dot4 = nullptr;
  VecDotX4Fn dotx4 = nullptr;
};
const char* KernelPathName(KernelPath p);
bool KernelPathAvailable(KernelPath p);  // CPU support only; ignores R1_FORCE_SCALAR
// All nullptr if the path is unavailable or `weight_type` is not IsSupported.
DotKernels PathKernels(KernelPath p, GgmlType weight_type);
KernelPath FastPath(GgmlType weight_type);  // the path Fast* use for this type

// float8 e4m3fn: its value, and its bits moved into an fp16 (sign to bit 15,
// exponent and mantissa to bits 7..13), which is exactly 2^-8 times the value
// (normal and subnormal codes alike; the NaN codes 0x7f/0xff read as ±480).
float F8E4M3ToF32(uint8_t b);
float F8E4M3AsF16Scaled(uint8_t b);

// IEEE half / bfloat16 conversions (round to nearest even).
float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);
float BF16ToF32(uint16_t h);
uint16_t F32ToBF16(float f);

}  // namespace r1::kernels
