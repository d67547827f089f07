// Causal attention over a paged KV cache.
//
// Layout conventions (all row-major):
//   q    [n_q, n_head, head_dim_k] float, already scaled by nothing (scale is applied inside)
//   out  [n_q, n_head, head_dim_v] float
//   K/V  one sequence's cache, stored in blocks of `block_size` tokens. Token j
//        lives in block j / block_size at row j % block_size. A K row holds
//        n_head_kv × head_dim_k F16 values, contiguous per head, and rows are
//        `k_row_stride` elements apart; likewise V. V may alias K with another
//        stride and head_dim (absorbed MLA: K row = [c_kv | k_pe], V = c_kv).
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

struct KvView {
  const uint16_t* const* k_blocks = nullptr;  // F16
  const uint16_t* const* v_blocks = nullptr;  // F16
  int64_t block_size = 0;                     // tokens per block
  int64_t n_kv = 0;                           // tokens present (keys 0..n_kv-1)
  int64_t k_row_stride = 0;                   // elements between consecutive tokens' K rows
  int64_t v_row_stride = 0;
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
// softmax); tests compare Attention against it.
void AttentionRef(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
                  const KvView& kv, float* out);

}  // namespace r1::kernels
