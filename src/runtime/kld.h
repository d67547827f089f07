// KL divergence of a model's next-token distributions against a base model's,
// the quality measure of llama.cpp's `llama-perplexity --kl-divergence`
// (r1 kld). Three parts, none of which runs a model:
//
//   * the math on logit rows (LogSoftmax, KlDivergence: double precision,
//     the reference for the compressed path);
//   * one compressed row per scored position of the base model (EncodeRow,
//     CompareRow) and the statistics over them (KldStats);
//   * the base file (BaseWriter, BaseReader).
//
// Base file, little-endian, every field 4 bytes unless noted:
//
//   char[8]  magic "R1KLDLP\0"
//   u32      version (1)
//   u32      n_vocab
//   u32      n_ctx            tokens per chunk
//   u32      n_chunks
//   i32      tokens[n_chunks * n_ctx]   as evaluated: each chunk runs from
//                                       position 0, BOS already in place
//   rows     n_chunks * ScoredPerChunk(n_ctx) rows of RowBytes(n_vocab)
//            bytes, chunk by chunk; row j of a chunk is position
//            n_ctx/2 + j, which predicts token n_ctx/2 + j + 1 (llama.cpp
//            scores the second half of each chunk the same way).
//
// A row (llama.cpp's layout, with exact values in the header):
//
//   f32      lo               lowest log-probability kept
//   f32      step             code step
//   f32      target_logprob   exact log p(next token)
//   i32      top              argmax of the logits (first at ties)
//   u16      code[n_vocab]    0: log p < lo (treated as p = 0);
//                             c >= 1: log p = lo + (c - 1) * step
//
// lo = max(min log p, max log p - kLogProbRange) and step = (max log p -
// lo) / 65534, so a code is off by at most step/2 <= 2.5e-4 nats. CompareRow
// renormalizes the decoded base distribution over the kept entries: the KLD
// it reports is that of a proper distribution, never negative, and the
// rounding adds only O(step^2) (a model against its own base gives <= 1e-8).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "r1/status.h"

namespace r1::kld {

// Log-probabilities are kept down to this far below the top one (entries
// further down hold at most n_vocab * e^-32 of the mass: 2e-9 at 129280).
// llama.cpp keeps 16 nats, which drops ~1e-5 of the mass of a flat
// distribution over a large vocabulary; 32 costs only a coarser step.
inline constexpr double kLogProbRange = 32.0;

// log softmax(logits), computed in double.
std::vector<double> LogSoftmax(std::span<const float> logits);

// KL(P || Q) in nats, P = softmax(base_logits), Q = softmax(q_logits), in
// double, over the whole vocabulary. The rows must have the same size.
double KlDivergence(std::span<const float> base_logits, std::span<const float> q_logits);

// Bytes of one compressed row.
inline size_t RowBytes(int64_t n_vocab) { return 16 + 2 * static_cast<size_t>(n_vocab); }

// Positions scored per chunk of n_ctx tokens: n_ctx/2 .. n_ctx-2, each
// predicting the token after it (llama.cpp's n_ctx - 1 - n_ctx/2).
inline int64_t ScoredPerChunk(int64_t n_ctx) { return n_ctx - 1 - n_ctx / 2; }

// Compresses the base model's logits of one position whose next token is
// `target` into RowBytes(logits.size()) bytes at `out`.
void EncodeRow(std::span<const float> logits, int32_t target, uint8_t* out);

// One scored position compared.
struct TokenStats {
  double kld = 0;       // KL(P_base || P_q), nats
  double nll_q = 0;     // -log p_q(target)
  double nll_base = 0;  // -log p_base(target)
  bool same_top = false;  // the argmaxes agree
};

// Compares a row made by EncodeRow with the quantized model's logits of the
// same position (q_logits.size() is the row's n_vocab).
TokenStats CompareRow(const uint8_t* row, std::span<const float> q_logits, int32_t target);

// -log p_base(target) of a row (for the base perplexity).
double RowNll(const uint8_t* row);

// A value with its standard error.
struct Estimate {
  double value = 0;
  double error = 0;
};

// What r1 kld reports, as llama-perplexity --kl-divergence does.
struct KldSummary {
  int64_t count = 0;
  Estimate ppl_q, ppl_base;
  double cor_ln_ppl = 0;       // correlation of the per-token ln p's, [-1, 1]
  Estimate ln_ppl_ratio;       // mean ln(PPL(Q)/PPL(base))
  Estimate ppl_ratio;          // PPL(Q)/PPL(base)
  Estimate ppl_diff;           // PPL(Q) - PPL(base)
  Estimate kld;                // mean KLD
  // KLD percentiles: max, 99.9, 99, 95, 90, median, 10, 5, 1, 0.1, min.
  double kld_max = 0, kld_p999 = 0, kld_p99 = 0, kld_p95 = 0, kld_p90 = 0, kld_median = 0, kld_p10 = 0,
         kld_p5 = 0, kld_p1 = 0, kld_p01 = 0, kld_min = 0;
  Estimate dp;                 // mean Δp = p_q(target) - p_base(target), as a fraction
  double dp_max = 0, dp_p999 = 0, dp_p99 = 0, dp_p95 = 0, dp_p90 = 0, dp_p75 = 0, dp_median = 0, dp_p25 = 0,
         dp_p10 = 0, dp_p5 = 0, dp_p1 = 0, dp_p01 = 0, dp_min = 0;
  Estimate rms_dp;             // sqrt(mean Δp²)
  Estimate same_top;           // fraction of positions whose argmaxes agree
};

// Accumulates TokenStats; Summary() may be called at any time.
class KldStats {
 public:
  void Add(const TokenStats& t);
  int64_t count() const { return static_cast<int64_t>(kld_.size()); }
  // Running values for progress lines (Summary sorts every value).
  double mean_kld() const { return kld_.empty() ? 0.0 : sum_kld_ / static_cast<double>(kld_.size()); }
  double same_top() const { return kld_.empty() ? 0.0 : static_cast<double>(same_top_) / static_cast<double>(kld_.size()); }
  KldSummary Summary() const;

 private:
  double sum_nll_ = 0, sum_nll2_ = 0, sum_nll_base_ = 0, sum_nll_base2_ = 0, sum_nll_nll_base_ = 0;
  double sum_kld_ = 0, sum_kld2_ = 0, sum_dp_ = 0, sum_dp2_ = 0, sum_dp4_ = 0;
  int64_t same_top_ = 0;
  std::vector<double> kld_, dp_;
};

// The mean of n values from their sum and sum of squares, with its standard
// error (0 for 10 values or fewer, as llama.cpp).
Estimate MeanAndError(double sum, double sum2, int64_t n);

// Value at `fraction` of sorted `v` (linear interpolation), v non-empty.
double Percentile(const std::vector<double>& sorted, double fraction);

struct BaseHeader {
  int64_t n_vocab = 0;
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
};

// Writes a base file: the header and the tokens at Create, then the rows
// chunk by chunk. The file appears under `path` only at Finish (written to
// path + ".tmp" and renamed), so an interrupted run leaves no partial file.
class BaseWriter {
 public:
  static StatusOr<std::unique_ptr<BaseWriter>> Create(const std::string& path, const BaseHeader& h,
                                                      const std::vector<int32_t>& tokens);
  ~BaseWriter();
  // One chunk: ScoredPerChunk(n_ctx) rows, contiguous.
  Status WriteChunk(const std::vector<uint8_t>& rows);
  Status Finish();

 private:
  BaseWriter() = default;
  std::string path_, tmp_;
  BaseHeader h_;
  std::FILE* f_ = nullptr;
  int64_t chunks_written_ = 0;
};

// Reads a base file. Open checks the header, the tokens and the file size
// against what the header promises (errors name the file and what is
// wrong: not a base file, version, truncated, trailing bytes, a token out of
// range), so a bad file is refused before any model runs.
class BaseReader {
 public:
  static StatusOr<std::unique_ptr<BaseReader>> Open(const std::string& path);
  ~BaseReader();
  const BaseHeader& header() const { return h_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  // The rows of chunk `i` (ScoredPerChunk(n_ctx) * RowBytes(n_vocab) bytes).
  Status ReadChunk(int64_t i, std::vector<uint8_t>* rows);

 private:
  BaseReader() = default;
  std::string path_;
  BaseHeader h_;
  std::vector<int32_t> tokens_;
  std::FILE* f_ = nullptr;
  uint64_t rows_offset_ = 0;
};

}  // namespace r1::kld
