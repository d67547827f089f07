// Internals of matmul.cc: SIMD activation quantizers (matmul_avx2.cc).
//
// Each is bit-identical to Quantize(type, ...) of quant.h for finite input,
// so the choice of path never changes a matmul result.
#pragma once

#include <cstdint>

namespace r1::kernels::internal {

// n is a multiple of the block size (32 for Q8_0, 256 for Q8_K).
void QuantizeQ8_0Avx2(const float* x, void* dst, int64_t n);
void QuantizeQ8KAvx2(const float* x, void* dst, int64_t n);
void QuantizeBF16Avx2(const float* x, void* dst, int64_t n);

}  // namespace r1::kernels::internal
