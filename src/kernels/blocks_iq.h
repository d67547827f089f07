// Block structs of ggml's codebook ("IQ grid") formats IQ2_XXS, IQ2_XS, IQ2_S,
// IQ3_XXS, IQ3_S, IQ1_S and IQ1_M, byte-for-byte as in GGUF files
// (ggml-common.h), with accessors for their bit fields. Included by blocks.h;
// the codebooks are in iq_tables.h.
//
// All seven are 256-element super-blocks of eight 32-element sub-blocks
// (ib = e / 32), each made of four 8-element groups (g = e / 8, 32 per block).
// A group's magnitudes come from one codebook entry of 8 bytes (IQ2_*, IQ1_*:
// byte j is element j), or from two entries of 4 bytes (IQ3_*: the first gives
// elements 0..3, the second 4..7). Signs come as one byte per group (bit j set:
// element j negative); the XXS/XS types store only 7 of those bits, an index
// into kIq2Signs (whose entries have an even number of bits set).
//
//   IQ2_XXS  d | qs: 8 bytes per sub-block, read as two little-endian uint32
//            a0, a1. Byte l of a0: kIq2xxsGrid index of group l; bits
//            7l..7l+6 of a1: sign index of group l; bits 28..31 of a1: s.
//            y = d * (2s+1)/8 * grid * sign.
//   IQ2_XS   d | qs: one uint16 per group, bits 0..8 the kIq2xsGrid index,
//            bits 9..15 the sign index | scales: byte ib, low nibble s for
//            elements 0..15 of the sub-block, high nibble for 16..31.
//            y = d * (2s+1)/8 * grid * sign.
//   IQ2_S    d | qs[0..31]: low 8 bits of each group's kIq2sGrid index,
//            qs[32..63]: each group's sign byte | qh: byte ib holds index
//            bits 8..9 of group l of the sub-block in bits 2l..2l+1 |
//            scales as IQ2_XS. y = d * (2s+1)/8 * grid * sign.
//   IQ3_XXS  d | qs[0..63]: kIq3xxsGrid index of each 4-element quad |
//            qs[64..95]: one little-endian uint32 per sub-block, sign indices
//            in bits 7l..7l+6 (group l), s in bits 28..31.
//            y = d * (2s+1)/4 * grid * sign.
//   IQ3_S    d | qs: low 8 bits of each quad's kIq3sGrid index | qh: byte ib,
//            bit k is index bit 8 of quad k of the sub-block | signs: each
//            group's sign byte | scales: byte ib/2, nibble ib%2 is s.
//            y = d * (2s+1) * grid * sign.
//   IQ1_S    d | qs: low 8 bits of each group's kIq1sGrid index (entries are
//            int8 -1/0/1) | qh: one little-endian uint16 per sub-block, bits
//            3l..3l+2 index bits 8..10 of group l, bits 12..14 s, bit 15 the
//            sign of delta. y = d * (2s+1) * (grid + delta), delta =
//            -kIq1sDelta if bit 15 is set else +kIq1sDelta.
//   IQ1_M    qs as IQ1_S | qh: byte g/2, nibble g%2 (bits 0..2 index bits
//            8..10 of group g, bit 3 the sign of its delta) | scales: four
//            little-endian uint16 w0..w3; bits 3h'..3h'+2 of w[h/4] (h' = h%4)
//            are the 3-bit s of 16-element half h (h = e / 16); the top
//            nibbles of w0..w3 (w0's lowest) are the fp16 d.
//            y = d * (2s+1) * (grid + delta), delta = -/+kIq1mDelta.
//
// Every value is therefore d * ls * kScale * code with an integer code and
// an odd integer ls = 2s+1 per 16 or 32 elements: code = sign * grid with
// kScale 1/8 (IQ2_*), 1/4 (IQ3_XXS), 1 (IQ3_S); for IQ1_* code = 8 * grid +/-
// 1 with kScale 1/8 (delta = 1/8). The helpers below give those integers.
#pragma once

#include <cstdint>

#include "kernels/iq_tables.h"

namespace r1::kernels {

struct BlockIq2Xxs {
  uint16_t d;
  uint16_t qs[32];
};

struct BlockIq2Xs {
  uint16_t d;
  uint16_t qs[32];
  uint8_t scales[8];
};

struct BlockIq2S {
  uint16_t d;
  uint8_t qs[64];
  uint8_t qh[8];
  uint8_t scales[8];
};

struct BlockIq3Xxs {
  uint16_t d;
  uint8_t qs[96];
};

struct BlockIq3S {
  uint16_t d;
  uint8_t qs[64];
  uint8_t qh[8];
  uint8_t signs[32];
  uint8_t scales[4];
};

struct BlockIq1S {
  uint16_t d;
  uint8_t qs[32];
  uint16_t qh[8];
};

struct BlockIq1M {
  uint8_t qs[32];
  uint8_t qh[16];
  uint8_t scales[8];
};

static_assert(sizeof(BlockIq2Xxs) == 66);
static_assert(sizeof(BlockIq2Xs) == 74);
static_assert(sizeof(BlockIq2S) == 82);
static_assert(sizeof(BlockIq3Xxs) == 98);
static_assert(sizeof(BlockIq3S) == 110);
static_assert(sizeof(BlockIq1S) == 50);
static_assert(sizeof(BlockIq1M) == 56);

// The constants every decoder relies on (code = 8 * grid +/- 1 for IQ1_*).
static_assert(kIq1sDelta == 0.125f && kIq1mDelta == 0.125f);

// Byte j (0..7 or 0..3) of a codebook entry.
static constexpr uint8_t GridByte(uint64_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

// The odd scale 2s+1 of a 4-bit s.
static constexpr int OddScale(int s) { return 2 * s + 1; }

// IQ2_XXS: word k (0 = indices, 1 = signs and scale) of sub-block ib.
static constexpr uint32_t Iq2xxsWord(const BlockIq2Xxs& b, int ib, int k) {
  return b.qs[4 * ib + 2 * k] | static_cast<uint32_t>(b.qs[4 * ib + 2 * k + 1]) << 16;
}
static constexpr uint64_t Iq2xxsEntry(const BlockIq2Xxs& b, int g) {
  return kIq2xxsGrid[(Iq2xxsWord(b, g / 4, 0) >> (8 * (g % 4))) & 255];
}
static constexpr uint8_t Iq2xxsSigns(const BlockIq2Xxs& b, int g) {
  return kIq2Signs[(Iq2xxsWord(b, g / 4, 1) >> (7 * (g % 4))) & 127];
}
static constexpr int Iq2xxsScale(const BlockIq2Xxs& b, int ib) {
  return OddScale(static_cast<int>(Iq2xxsWord(b, ib, 1) >> 28));
}

// IQ2_XS / IQ2_S share the scale layout: half h (16 elements) has nibble h%2
// of byte h/2.
static constexpr int Iq2HalfScale(const uint8_t* scales, int h) {
  return OddScale((scales[h / 2] >> (4 * (h % 2))) & 15);
}
static constexpr uint64_t Iq2xsEntry(const BlockIq2Xs& b, int g) { return kIq2xsGrid[b.qs[g] & 511]; }
static constexpr uint8_t Iq2xsSigns(const BlockIq2Xs& b, int g) { return kIq2Signs[b.qs[g] >> 9]; }

static constexpr uint64_t Iq2sEntry(const BlockIq2S& b, int g) {
  return kIq2sGrid[b.qs[g] | ((b.qh[g / 4] >> (2 * (g % 4))) & 3) << 8];
}
static constexpr uint8_t Iq2sSigns(const BlockIq2S& b, int g) { return b.qs[32 + g]; }

// IQ3_XXS: the signs-and-scale word of sub-block ib; quad q (4 elements).
static constexpr uint32_t Iq3xxsWord(const BlockIq3Xxs& b, int ib) {
  const uint8_t* p = b.qs + 64 + 4 * ib;
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}
static constexpr uint32_t Iq3xxsEntry(const BlockIq3Xxs& b, int q) { return kIq3xxsGrid[b.qs[q]]; }
static constexpr uint8_t Iq3xxsSigns(const BlockIq3Xxs& b, int g) {
  return kIq2Signs[(Iq3xxsWord(b, g / 4) >> (7 * (g % 4))) & 127];
}
static constexpr int Iq3xxsScale(const BlockIq3Xxs& b, int ib) { return OddScale(static_cast<int>(Iq3xxsWord(b, ib) >> 28)); }

static constexpr uint32_t Iq3sEntry(const BlockIq3S& b, int q) {
  return kIq3sGrid[b.qs[q] | ((b.qh[q / 8] >> (q % 8)) & 1) << 8];
}
static constexpr int Iq3sScale(const BlockIq3S& b, int ib) { return OddScale((b.scales[ib / 2] >> (4 * (ib % 2))) & 15); }

// IQ1_S: entry of group g, scale and delta sign (+1 / -1) of sub-block ib.
static constexpr uint64_t Iq1sEntry(const BlockIq1S& b, int g) {
  return kIq1sGrid[b.qs[g] | ((b.qh[g / 4] >> (3 * (g % 4))) & 7) << 8];
}
static constexpr int Iq1sScale(const BlockIq1S& b, int ib) { return OddScale((b.qh[ib] >> 12) & 7); }
static constexpr int Iq1sDeltaSign(const BlockIq1S& b, int ib) { return (b.qh[ib] & 0x8000) ? -1 : 1; }

// IQ1_M: entry and delta sign of group g, scale of half h, the fp16 d.
static constexpr uint64_t Iq1mEntry(const BlockIq1M& b, int g) {
  return kIq1sGrid[b.qs[g] | ((b.qh[g / 2] >> (4 * (g % 2))) & 7) << 8];
}
static constexpr int Iq1mDeltaSign(const BlockIq1M& b, int g) { return ((b.qh[g / 2] >> (4 * (g % 2) + 3)) & 1) ? -1 : 1; }
static constexpr int Iq1mScaleWord(const BlockIq1M& b, int k) { return b.scales[2 * k] | b.scales[2 * k + 1] << 8; }
static constexpr int Iq1mScale(const BlockIq1M& b, int h) { return OddScale((Iq1mScaleWord(b, h / 4) >> (3 * (h % 4))) & 7); }
static constexpr uint16_t Iq1mD(const BlockIq1M& b) {
  int d = 0;
  for (int k = 0; k < 4; ++k) d |= (Iq1mScaleWord(b, k) >> 12) << (4 * k);
  return static_cast<uint16_t>(d);
}

}  // namespace r1::kernels
