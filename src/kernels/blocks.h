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

// Sizes from ggml-common.h; must match gguf/ggml_types.cc.
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ4K) == 144);
static_assert(sizeof(BlockQ5K) == 176);
static_assert(sizeof(BlockQ6K) == 210);
static_assert(sizeof(BlockQ8K) == 292);

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

}  // namespace r1::kernels
