// Causal attention over a paged KV cache.
//
// Layout conventions (all row-major):
//   q    [n_q, n_head, head_dim_k] float, already scaled by nothing (scale is applied inside)
//   out  [n_q, n_head, head_dim_v] float
//   K/V  one sequence's cache, stored in blocks of `block_size` tokens. Token j
//        lives in block j / block_size at row j % block_size. KV head h's K
//        row for that token starts h · k_head_stride values into the block
//        (0: h · head_dim_k, heads side by side in one token row) plus
//        row · k_row_stride; likewise V. The paged cache stores blocks
//        head-major (one head's rows contiguous, so a head's keys stream
//        through the caches without sharing sets with the other heads'
//        halves of each row). V may alias K with another stride and head_dim
//        (absorbed MLA: K row = [c_kv | k_pe], V = c_kv).
//
// Query i (at absolute position q_pos[i]) attends to keys 0..q_pos[i]
// inclusive; keys are stored in position order. Head h reads KV head
// h / (n_head / n_head_kv) (GQA).
//
// Batch invariance: out for query i depends only on q[i] and keys
// 0..q_pos[i]; the KV is reduced in fixed tiles of absolute key positions, so
// chunked prefill, batching and decode give bit-identical results.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/thread_pool.h"

namespace r1::kernels {

// Element type of cached K/V values.
//   kF16   one IEEE half per value.
//   kQ8_0  ggml Q8_0 blocks (blocks.h BlockQ8_0): 32 values = fp16 scale d +
//          32 int8 q, value = d·q (exact in float). Half the bytes of F16.
//          Head dims, row strides and V offsets must be multiples of 32, so
//          that a block never straddles two heads.
enum class KvType : uint8_t { kF16, kQ8_0 };

inline constexpr int64_t kKvQ8Block = 32;  // values per Q8_0 block
inline constexpr int64_t kKvQ8Bytes = 34;  // bytes per Q8_0 block

// Bytes holding `n` values (a multiple of 32 for Q8_0).
inline int64_t KvBytes(KvType t, int64_t n) {
  return t == KvType::kF16 ? n * 2 : n / kKvQ8Block * kKvQ8Bytes;
}

struct KvView {
  KvType type = KvType::kF16;
  const void* const* k_blocks = nullptr;  // per cache block: its first K row
  const void* const* v_blocks = nullptr;  // per cache block: its first V row
  int64_t block_size = 0;                 // tokens per block
  int64_t n_kv = 0;                       // tokens present (keys 0..n_kv-1)
  int64_t k_row_stride = 0;               // values between consecutive tokens' K rows
  int64_t v_row_stride = 0;
  int64_t k_head_stride = 0;              // values between KV heads' rows (0: head_dim_k)
  int64_t v_head_stride = 0;              // likewise for V (0: head_dim_v)
};

struct AttentionParams {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim_k = 0;
  int head_dim_v = 0;
  float scale = 1.0f;  // softmax scale, usually 1/sqrt(head_dim_k)
};

// Attention for n_q queries of one sequence. q_pos[i] < kv.n_kv.
void Attention(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
               const KvView& kv, float* out, ThreadPool& pool);

// Scalar reference with the same contract (float64 accumulation of a plain
// softmax over the exactly dequantized K/V); tests compare Attention against it.
void AttentionRef(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
                  const KvView& kv, float* out);

}  // namespace r1::kernels
