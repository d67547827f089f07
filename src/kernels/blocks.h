// Block structs of the quantized formats, byte-for-byte as in GGUF files
// (ggml-common.h). Every field is little-endian and the structs have no
// padding, so a pointer into a mapped tensor can be read as an array of them.
//
// Element order inside a block (what Dequantize produces, i.e. the order the
// model's weights were in before quantization):
//
//   Q8_0  y[i] = d * qs[i]                                   i < 32
//   Q4_0  y[i] = d * ((qs[i] & 15) - 8), y[i+16] = d * ((qs[i] >> 4) - 8)   i < 16
//   Q5_0  as Q4_0 with a fifth bit: bit i of qh (little-endian uint32) is the
//         high bit of element i, values biased by 16.
//   Q4_K  8 sub-blocks of 32, sub-block s has 6-bit scale sc[s] and min m[s]
//         (see UnpackScalesMinsK4). qs[32*g + l] holds element 64*g + l in its
//         low nibble and element 64*g + 32 + l in its high nibble (g < 4):
//         y = d * sc[s] * q - dmin * m[s].
//   Q5_K  as Q4_K; bit 2g of qh[l] is the high bit of element 64*g + l, bit
//         2g+1 that of element 64*g + 32 + l (values 0..31).
//   Q6_K  16 sub-blocks of 16 with int8 scales. In each half h (128 elements,
//         ql + 64h, qh + 32h), for l < 32 the 6-bit values (minus 32) are
//           e[l]      = ql[l]    & 15 | (qh[l] >> 0 & 3) << 4
//           e[l + 32] = ql[l+32] & 15 | (qh[l] >> 2 & 3) << 4
//           e[l + 64] = ql[l]    >> 4 | (qh[l] >> 4 & 3) << 4
//           e[l + 96] = ql[l+32] >> 4 | (qh[l] >> 6 & 3) << 4
//         and element e of the block has scale scales[e / 16].
//   Q8_K  activations: y[i] = d * qs[i]; bsums[j] = sum of qs[16j .. 16j+15].
//   Q4_1  y[i] = d * (qs[i] & 15) + m, y[i+16] = d * (qs[i] >> 4) + m      i < 16
//   Q5_1  as Q4_1 with Q5_0's fifth bit (values 0..31).
//   IQ4_NL as Q4_0, but each nibble indexes the non-linear codebook
//         kIq4nlValues (iq_tables.h): y = d * kIq4nlValues[nibble].
//   IQ4_XS 8 sub-blocks of 32, each as IQ4_NL (16 bytes of qs), with a 6-bit
//         scale ls (low 4 bits: nibble s % 2 of scales_l[s / 2], high 2 bits:
//         bits 2s, 2s+1 of scales_h): y = d * (ls - 32) * kIq4nlValues[nibble].
//   Q2_K  16 sub-blocks of 16; element e has the 2-bit code
//         qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32)) & 3 and the
//         scale byte scales[e / 16] (low nibble scale, high nibble min):
//         y = d * (sc & 15) * q - dmin * (sc >> 4).
//   Q3_K  as Q2_K's 2-bit codes, plus a third bit: bit e / 32 of hmask[e % 32];
//         the 3-bit value u is biased by 4 (y uses u - 4). Sixteen 6-bit scales
//         biased by 32 (UnpackScalesQ3K): y = d * (sc[e / 16] - 32) * (u - 4).
//   TQ2_0 Q2_K's code layout, ternary: y = d * (q - 1).
//   TQ1_0 ternary, five trits per byte as a base-3 fixed-point fraction
//         (byte = ceil(256 * v / 243) for v the 5-digit base-3 number, first
//         trit most significant); trit n of byte b is
//         ((uint8_t)(b * 3^n) * 3) >> 8. Elements 0..159: trit e / 32 of
//         qs[e % 32]; 160..239: trit (e-160) / 16 of qs[32 + e % 16];
//         240..255: trit (e-240) / 4 of qh[e % 4]. y = d * (trit - 1).
//   IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M: codebook formats,
//         see blocks_iq.h.
//
// The helpers here are `static` on purpose: this header is also included by the
// SIMD translation units (compiled with -mavx512*), and an out-of-line copy of
// an ordinary inline function emitted there could be the one the linker keeps
// for the baseline code too, which would then fault on an older CPU.
#pragma once

#include <cstdint>

namespace r1::kernels {

inline constexpr int kQK = 256;   // elements per K-quant super-block
inline constexpr int kQK0 = 32;   // elements per Q4_0 / Q5_0 / Q8_0 block

// F8_E4M3_B64 (r1's in-memory form of DeepSeek's FP8 checkpoints): value i
// is E4M3(qs[i]) * d, d the checkpoint's weight_scale_inv of the 128x128
// block holding the row's 64 columns.
inline constexpr int kQKF8 = 64;
struct BlockF8 {
  float d;
  uint8_t qs[kQKF8];
};
static_assert(sizeof(BlockF8) == 68);

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK0];
};

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK0 / 2];
};

struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // a little-endian uint32; not aligned, read with memcpy
  uint8_t qs[kQK0 / 2];
};

struct BlockQ4K {
  uint16_t d;     // fp16 scale of the 6-bit sub-block scales
  uint16_t dmin;  // fp16 scale of the 6-bit sub-block mins
  uint8_t scales[12];
  uint8_t qs[kQK / 2];
};

struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK / 8];
  uint8_t qs[kQK / 2];
};

struct BlockQ6K {
  uint8_t ql[kQK / 2];
  uint8_t qh[kQK / 4];
  int8_t scales[kQK / 16];
  uint16_t d;
};

struct BlockQ8K {
  float d;
  int8_t qs[kQK];
  int16_t bsums[kQK / 16];
};

struct BlockQ4_1 {
  uint16_t d;  // fp16 scale
  uint16_t m;  // fp16 offset (added)
  uint8_t qs[kQK0 / 2];
};

struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK0 / 2];
};

struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[kQK0 / 2];
};

struct BlockIq4Xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK / 64];
  uint8_t qs[kQK / 2];
};

struct BlockQ2K {
  uint8_t scales[kQK / 16];  // per sub-block: scale (low nibble), min (high nibble)
  uint8_t qs[kQK / 4];
  uint16_t d;
  uint16_t dmin;
};

struct BlockQ3K {
  uint8_t hmask[kQK / 8];
  uint8_t qs[kQK / 4];
  uint8_t scales[12];
  uint16_t d;
};

struct BlockTq1_0 {
  uint8_t qs[48];  // 5 trits per byte
  uint8_t qh[4];   // 4 trits per byte
  uint16_t d;
};

struct BlockTq2_0 {
  uint8_t qs[kQK / 4];
  uint16_t d;
};

// Sizes from ggml-common.h; must match gguf/ggml_types.cc.
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ4K) == 144);
static_assert(sizeof(BlockQ5K) == 176);
static_assert(sizeof(BlockQ6K) == 210);
static_assert(sizeof(BlockQ8K) == 292);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockIq4Nl) == 18);
static_assert(sizeof(BlockIq4Xs) == 136);
static_assert(sizeof(BlockQ2K) == 84);
static_assert(sizeof(BlockQ3K) == 110);
static_assert(sizeof(BlockTq1_0) == 54);
static_assert(sizeof(BlockTq2_0) == 66);

// The 12 scale bytes of Q4_K / Q5_K hold eight 6-bit scales and eight 6-bit
// mins. Sub-blocks 0..3 keep theirs in the low 6 bits of bytes 0..3 (scales)
// and 4..7 (mins); sub-blocks 4..7 keep the low 4 bits in the nibbles of bytes
// 8..11 (scale low, min high) and the top 2 bits in the spare top bits of
// bytes 0..3 (scales) and 4..7 (mins). Done on 32-bit words, four sub-blocks
// at a time; sc/mn receive one byte per sub-block.
static constexpr void UnpackScalesMinsK4(const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  uint32_t w0 = 0, w1 = 0, w2 = 0;
  for (int i = 3; i >= 0; --i) {
    w0 = w0 << 8 | q[i];
    w1 = w1 << 8 | q[4 + i];
    w2 = w2 << 8 | q[8 + i];
  }
  const uint32_t s_lo = w0 & 0x3f3f3f3fu;
  const uint32_t m_lo = w1 & 0x3f3f3f3fu;
  const uint32_t s_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 6) & 0x03030303u) << 4;
  const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 6) & 0x03030303u) << 4;
  for (int i = 0; i < 4; ++i) {
    sc[i] = static_cast<uint8_t>(s_lo >> (8 * i));
    sc[4 + i] = static_cast<uint8_t>(s_hi >> (8 * i));
    mn[i] = static_cast<uint8_t>(m_lo >> (8 * i));
    mn[4 + i] = static_cast<uint8_t>(m_hi >> (8 * i));
  }
}

// Inverse of UnpackScalesMinsK4 (values must be < 64).
static constexpr void PackScalesMinsK4(const uint8_t* sc, const uint8_t* mn, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>(sc[j] | (sc[4 + j] >> 4) << 6);
    q[4 + j] = static_cast<uint8_t>(mn[j] | (mn[4 + j] >> 4) << 6);
    q[8 + j] = static_cast<uint8_t>((sc[4 + j] & 15) | (mn[4 + j] & 15) << 4);
  }
}

// The 12 scale bytes of Q3_K hold sixteen 6-bit values (biased by 32): the
// low 4 bits of scale s are nibble s / 8 of byte s % 8, the top 2 bits are
// bits 2 * (s / 4) of byte 8 + s % 4. sc receives the signed scale (-32..31).
static constexpr void UnpackScalesQ3K(const uint8_t* q, int8_t* sc) {
  for (int s = 0; s < 16; ++s) {
    const int lo = s < 8 ? q[s] & 15 : q[s - 8] >> 4;
    const int hi = (q[8 + s % 4] >> (2 * (s / 4))) & 3;
    sc[s] = static_cast<int8_t>((lo | hi << 4) - 32);
  }
}

// Inverse of UnpackScalesQ3K (values in -32..31).
static constexpr void PackScalesQ3K(const int8_t* sc, uint8_t* q) {
  for (int i = 0; i < 12; ++i) q[i] = 0;
  for (int s = 0; s < 16; ++s) {
    const int v = sc[s] + 32;
    q[s % 8] = static_cast<uint8_t>(q[s % 8] | (v & 15) << (s < 8 ? 0 : 4));
    q[8 + s % 4] = static_cast<uint8_t>(q[8 + s % 4] | (v >> 4) << (2 * (s / 4)));
  }
}

// The 2-bit code of element e (< 256) in the Q2_K / Q3_K / TQ2_0 layout.
static constexpr int Code2K(const uint8_t* qs, int e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

// The 3-bit value u (0..7, biased by 4) of Q3_K element e.
static constexpr int Code3K(const BlockQ3K& b, int e) {
  return Code2K(b.qs, e) | ((b.hmask[e % 32] >> (e / 32)) & 1) << 2;
}

// The 6-bit scale (0..63, biased by 32) of IQ4_XS sub-block s.
static constexpr int ScaleIq4Xs(const BlockIq4Xs& b, int s) {
  return ((b.scales_l[s / 2] >> (4 * (s % 2))) & 15) | ((b.scales_h >> (2 * s)) & 3) << 4;
}

// Trit n (0..4) of a TQ1_0 byte: 0, 1 or 2.
static constexpr int TritTq1(uint8_t b, int n) {
  constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const auto v = static_cast<uint8_t>(b * kPow3[n]);
  return (v * 3) >> 8;
}

// The trit (0..2) of element e of a TQ1_0 block (element order above).
static constexpr int TritTq1Element(const BlockTq1_0& b, int e) {
  if (e < 160) return TritTq1(b.qs[e % 32], e / 32);
  if (e < 240) return TritTq1(b.qs[32 + e % 16], (e - 160) / 16);
  return TritTq1(b.qh[e % 4], (e - 240) / 4);
}

}  // namespace r1::kernels

#include "kernels/blocks_iq.h"  // IWYU pragma: export
