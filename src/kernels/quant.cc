// Format-independent entry points of quant.h: type tables, fp16/bf16
// conversions and run-time selection of the dot kernels.
#include "kernels/quant.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels {
namespace {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Misuse (an unsupported type reaching a kernel) is a programming error that
// would otherwise produce garbage silently.
[[noreturn]] void Die(const char* what, GgmlType t) {
  std::fprintf(stderr, "r1 kernels: %s: unsupported type %s\n", what, GgmlTypeName(t).c_str());
  std::abort();
}

constexpr size_t kNumTypes = 40;  // > largest GgmlType id

size_t Index(GgmlType t) { return static_cast<size_t>(t); }

DotKernels Merge(DotKernels a, DotKernels b) { return a.dot != nullptr ? a : b; }

DotKernels Compute(KernelPath p, GgmlType t) {
  if (!IsSupported(t) || !KernelPathAvailable(p)) return {};
  switch (p) {
    case KernelPath::kRef: return ref::Kernels(t);
    case KernelPath::kAvx2:
      return Merge(Merge(Merge(x86::Avx2Kernels(t), x86::Avx2KQuantKernels(t)), x86::Avx2LowBitKernels(t)),
                   x86::Avx2IqKernels(t));
    case KernelPath::kAvx512: {
      DotKernels k = Merge(x86::Avx512Kernels(t, GetCpuFeatures().avx512_bf16),
                           x86::Avx512KQuantKernels(t));
      // Types without a dedicated AVX-512 kernel (BF16 on a CPU without
      // AVX512_BF16) run the AVX2 one; AVX-512 CPUs all have AVX2.
      return k.dot != nullptr ? k : Compute(KernelPath::kAvx2, t);
    }
  }
  return {};
}

struct Selection {
  std::array<DotKernels, kNumTypes> kernels{};
  std::array<KernelPath, kNumTypes> path{};
};

const Selection& Selected() {
  static const Selection sel = [] {
    Selection s;
    for (size_t i = 0; i < kNumTypes; ++i) {
      const auto t = static_cast<GgmlType>(i);
      s.path[i] = KernelPath::kRef;
      if (!IsSupported(t)) continue;
      s.kernels[i] = ref::Kernels(t);
      if (ForceScalar()) continue;
      for (KernelPath p : {KernelPath::kAvx512, KernelPath::kAvx2}) {
        DotKernels k = Compute(p, t);
        if (k.dot != nullptr) {
          s.kernels[i] = k;
          s.path[i] = p;
          break;
        }
      }
    }
    return s;
  }();
  return sel;
}

const DotKernels& Fast(GgmlType t, const char* what) {
  if (!IsSupported(t)) Die(what, t);
  return Selected().kernels[Index(t)];
}

}  // namespace

bool IsSupported(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q8_0:
    case GgmlType::F8_E4M3_B64:
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::IQ4_NL:
    case GgmlType::IQ4_XS:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M:
      return true;
    default:
      return false;
  }
}

bool CanQuantize(GgmlType t) {
  switch (t) {
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::F8_E4M3_B64: return false;  // made from FP8 checkpoints only, never from floats
    default: return IsSupported(t);
  }
}

GgmlType RowFallbackType(GgmlType t) {
  switch (t) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: return GgmlType::Q4_0;
    case GgmlType::IQ4_XS:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: return GgmlType::IQ4_NL;
    case GgmlType::Q4_K: return GgmlType::Q5_0;
    case GgmlType::Q5_K: return GgmlType::Q5_1;
    case GgmlType::Q6_K: return GgmlType::Q8_0;
    default: return t;
  }
}

GgmlType VecDotType(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::F8_E4M3_B64: return GgmlType::F32;
    case GgmlType::BF16: return GgmlType::BF16;
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::IQ4_NL: return GgmlType::Q8_0;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_XS:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: return GgmlType::Q8_K;
    default: Die("VecDotType", t);
  }
}

void Dequantize(GgmlType t, const void* src, float* dst, int64_t n) {
  if (!ref::DequantizeRow(t, src, dst, n)) Die("Dequantize", t);
}

void Quantize(GgmlType t, const float* src, void* dst, int64_t n) {
  if (!ref::QuantizeRow(t, src, dst, n)) Die("Quantize", t);
}

void QuantizeWeighted(GgmlType t, const float* src, void* dst, int64_t n, const float* importance) {
  if (!ref::QuantizeRow(t, src, dst, n, importance)) Die("Quantize", t);
}

VecDotFn RefVecDot(GgmlType t) {
  if (!IsSupported(t)) Die("RefVecDot", t);
  return ref::Kernels(t).dot;
}
VecDot4Fn RefVecDot4(GgmlType t) {
  if (!IsSupported(t)) Die("RefVecDot4", t);
  return ref::Kernels(t).dot4;
}
VecDotX4Fn RefVecDotX4(GgmlType t) {
  if (!IsSupported(t)) Die("RefVecDotX4", t);
  return ref::Kernels(t).dotx4;
}

VecDotFn FastVecDot(GgmlType t) { return Fast(t, "FastVecDot").dot; }
VecDot4Fn FastVecDot4(GgmlType t) { return Fast(t, "FastVecDot4").dot4; }
VecDotX4Fn FastVecDotX4(GgmlType t) { return Fast(t, "FastVecDotX4").dotx4; }

const char* KernelPathName(KernelPath p) {
  switch (p) {
    case KernelPath::kRef: return "ref";
    case KernelPath::kAvx2: return "avx2";
    case KernelPath::kAvx512: return "avx512";
  }
  return "?";
}

bool KernelPathAvailable(KernelPath p) {
  switch (p) {
    case KernelPath::kRef: return true;
    case KernelPath::kAvx2: return GetCpuFeatures().avx2;
    case KernelPath::kAvx512: return GetCpuFeatures().avx512;
  }
  return false;
}

DotKernels PathKernels(KernelPath p, GgmlType t) { return Compute(p, t); }

KernelPath FastPath(GgmlType t) {
  return IsSupported(t) ? Selected().path[Index(t)] : KernelPath::kRef;
}

// fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every half is exactly
// representable as a float, so this direction needs no rounding.
float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return BitsFloat(FloatBits(v) | sign);
  }
  if (exp == 31) return BitsFloat(sign | 0x7f800000u | mant << 13);  // inf / NaN (payload kept)
  return BitsFloat(sign | (exp + 112) << 23 | mant << 13);
}

uint16_t F32ToF16(float f) {
  const uint32_t x = FloatBits(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00 | ((ax >> 13) & 0x1ff);  // NaN stays a (quiet) NaN
  if (ax >= 0x477ff000u) return sign | 0x7c00;  // >= 65520 rounds to infinity
  const uint32_t e = ax >> 23;                  // biased float exponent
  uint32_t mant, shift;
  if (e >= 113) {  // normal half: rebias the exponent, round off 13 bits
    mant = ((e - 112) << 10 | ((ax & 0x7fffff) >> 13)) << 13 | (ax & 0x1fff);
    shift = 13;
  } else {  // subnormal half (or zero): units of 2^-24
    if (e < 102) return sign;  // < 2^-25: rounds to zero (2^-25 itself ties to even 0)
    mant = (ax & 0x7fffff) | 0x800000;
    shift = 126 - e;
  }
  // Round to nearest, ties to even. A carry out of the mantissa correctly
  // bumps the exponent (and 0x7bff + 1 = infinity is excluded above).
  const uint32_t kept = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  const uint32_t r = kept + (rest > half || (rest == half && (kept & 1)) ? 1 : 0);
  return static_cast<uint16_t>(sign | r);
}

float F8E4M3AsF16Scaled(uint8_t b) {
  return F16ToF32(static_cast<uint16_t>(((b & 0x80u) << 8) | ((b & 0x7fu) << 7)));
}

float F8E4M3ToF32(uint8_t b) { return F8E4M3AsF16Scaled(b) * 256.0f; }

float BF16ToF32(uint16_t h) { return BitsFloat(static_cast<uint32_t>(h) << 16); }

uint16_t F32ToBF16(float f) {
  const uint32_t x = FloatBits(f);
  // Truncating a NaN could clear every mantissa bit left and make it an
  // infinity; keep it a NaN by setting the quiet bit.
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

}  // namespace r1::kernels
