// Internals of the flash-attention kernel (attention.cc, attention_avx2.cc).
//
// The work is cut into units: one query × one KV head × a subgroup of at most
// kMaxGroup query heads that read that KV head. A unit walks keys 0..pos in
// tiles of kTile absolute positions ([0,64), [64,128), ...), keeping a running
// max and sum per head (online softmax). The tiling and every reduction order
// depend only on `pos` and the head dims, so a (query, head) output is
// bit-identical however queries are batched or threads are split. Heads in a
// unit share the K/V loads but never each other's arithmetic.
#pragma once

#include <cstdint>

#include "kernels/attention.h"

namespace r1::kernels::attn {

inline constexpr int kTile = 64;
inline constexpr int kMaxGroup = 8;

struct Unit {
  int32_t pos = 0;   // keys 0..pos inclusive
  int kv_head = 0;
  int nh = 0;        // heads in this unit, 1..kMaxGroup
  const float* q[kMaxGroup] = {};
  float* out[kMaxGroup] = {};
};

// Per-thread scratch, sized by the caller.
struct Scratch {
  float* acc = nullptr;              // kMaxGroup × head_dim_v, 32-byte aligned
  float* s = nullptr;                // kMaxGroup × kTile scores / probabilities
  const void** krows = nullptr;  // kTile row pointers (this KV head's values)
  const void** vrows = nullptr;  // kTile row pointers
};

// Row pointers of keys [t0, t0+n) for KV head `kv_head` (attention.cc; not
// inline, so no copy of it is compiled with SIMD flags).
void TileRows(const KvView& kv, const AttentionParams& p, int kv_head, int64_t t0, int n,
              Scratch& sc);

using UnitFn = void (*)(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc);

// Portable path: any head dims.
void UnitScalar(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc);

// AVX2 + FMA + F16C path: head_dim_k and head_dim_v multiples of 8 (F16) or
// of 32 (Q8_0, as the cache requires anyway).
void UnitAvx2(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc);

// The best unit for this CPU and these head dims.
UnitFn BestUnit(const AttentionParams& p);

// Attention() with an explicit unit function (tests run every path).
void Run(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
         const KvView& kv, float* out, ThreadPool& pool, UnitFn fn);

}  // namespace r1::kernels::attn
