// Run-time CPU feature detection for kernel dispatch.
//
// The SIMD kernels are compiled into the same binary as the scalar reference
// (x86/*_avx512.cc, x86/*_avx2.cc get their -m flags per file), so which one
// runs is decided here, once, from cpuid and the OS's saved-register state
// (xgetbv): a CPU may support AVX-512 while the kernel does not save zmm
// registers, in which case using them would fault.
//
// Environment: R1_FORCE_SCALAR=1 makes every dispatcher (FastVecDot and
// friends) return the scalar reference. It is read once, on first use.
#pragma once

namespace r1::kernels {

struct CpuFeatures {
  bool avx2 = false;   // with FMA, F16C, BMI2 and OS ymm support
  bool avx512 = false; // F, BW, VL, DQ, VNNI and OS zmm support: the x86/*_avx512.cc baseline
  bool avx512_bf16 = false;  // additionally AVX512_BF16 (vdpbf16ps)
};

// Features of the running CPU (computed once, thread-safe).
const CpuFeatures& GetCpuFeatures();

// True when R1_FORCE_SCALAR is set to a non-empty value other than "0".
bool ForceScalar();

}  // namespace r1::kernels
