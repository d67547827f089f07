// SIMD dot kernels (x86/*_avx2.cc, x86/*_avx512.cc). Internal to src/kernels;
// callers use quant.h, which dispatches at run time (cpu.h).
//
// Contracts shared by every kernel here:
//  * A result is a pure function of the two rows (and n): no dependence on
//    alignment, thread or call history, so decode, batched prefill and any
//    thread split agree bit for bit.
//  * The multi-row kernels (dot4, dotx4) run, for each output, exactly the
//    single-row kernel's instruction sequence (they are instances of one
//    template), so their results are bit-identical to `dot`.
//  * Integer parts are exact. For Q4_K / Q5_K / Q6_K the per-super-block
//    integer sums are reduced to a scalar and folded into the float total with
//    the reference's scalar FMAs, so those kernels are bit-identical to the
//    reference; so are Q2_K / Q3_K / IQ4_XS / TQ1_0 / TQ2_0 and the IQ1 / IQ2
//    / IQ3 codebook types. Q8_0 / Q4_0 /
//    Q5_0 / Q4_1 / Q5_1 / IQ4_NL and the float types accumulate in vector
//    lanes and differ from the reference only by float summation order.
//
// ODR hygiene: these files are compiled with -mavx2 / -mavx512*; everything in
// them lives in an anonymous namespace except the table functions below, and
// they call no inline function shared with baseline code, so no SIMD
// instruction can leak into a baseline code path through the linker's choice
// of a COMDAT copy.
#pragma once

#include "gguf/ggml_types.h"
#include "kernels/quant.h"
#include "kernels/repack.h"

namespace r1::kernels::x86 {

// All nullptr for a type the file does not handle.
DotKernels Avx2Kernels(GgmlType weight_type);        // vecdot_avx2.cc
DotKernels Avx2KQuantKernels(GgmlType weight_type);  // vecdot_k_avx2.cc
DotKernels Avx2LowBitKernels(GgmlType weight_type);  // vecdot_low_avx2.cc
DotKernels Avx2IqKernels(GgmlType weight_type);      // vecdot_iq_avx2.cc (IQ1/IQ2/IQ3 codebooks)
PackedDotFn Avx2PackedDot(GgmlType weight_type);  // repack_avx2.cc (8-row packed layout)
DotKernels Avx512Kernels(GgmlType weight_type, bool has_bf16);  // vecdot_avx512.cc
DotKernels Avx512KQuantKernels(GgmlType weight_type);          // vecdot_k_avx512.cc

// ops_avx2.cc: SiluMul (ops.h) with a polynomial exp, relative error < 1e-6
// against the scalar loop.
void SiluMulAvx2(const float* gate, const float* up, int64_t n, float* out);
double ExpShiftSumAvx2(const float* x, int64_t n, float shift, float scale, float* out);
void ToF16Avx2(const float* x, uint16_t* out, int64_t n);  // F16C, bit-identical to F32ToF16

}  // namespace r1::kernels::x86
