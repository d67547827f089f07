#include "runtime/kld.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <sys/stat.h>

namespace r1::kld {
namespace {

constexpr char kMagic[8] = {'R', '1', 'K', 'L', 'D', 'L', 'P', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 * 4;
// Sanity bounds on a header, so a corrupt one is refused instead of sizing
// a huge allocation.
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxCtx = int64_t{1} << 24;

struct RowHeader {
  float lo, step, target_logprob;
  int32_t top;
};
static_assert(sizeof(RowHeader) == 16);

RowHeader ReadRowHeader(const uint8_t* row) {
  RowHeader h;
  std::memcpy(&h, row, sizeof h);
  return h;
}

uint16_t Code(const uint8_t* row, int64_t i) {
  uint16_t c;
  std::memcpy(&c, row + sizeof(RowHeader) + 2 * static_cast<size_t>(i), 2);
  return c;
}

// max and log-sum-exp of a row: log p_i = x_i - max - lse.
void MaxAndLse(std::span<const float> x, double* max, double* lse, int32_t* argmax) {
  float m = x[0];
  int32_t am = 0;
  for (size_t i = 1; i < x.size(); ++i)
    if (x[i] > m) m = x[i], am = static_cast<int32_t>(i);
  double s = 0;
  for (float v : x) s += std::exp(static_cast<double>(v) - m);
  *max = m;
  *lse = std::log(s);
  if (argmax) *argmax = am;
}

std::string Str(int64_t v) { return std::to_string(v); }

Status WriteAll(std::FILE* f, const void* p, size_t n, const std::string& path) {
  if (n && std::fwrite(p, 1, n, f) != n)
    return Status::Unavailable("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

void PutU32(std::vector<uint8_t>* b, uint32_t v) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
  b->insert(b->end(), p, p + 4);
}

}  // namespace

std::vector<double> LogSoftmax(std::span<const float> logits) {
  std::vector<double> out(logits.size());
  if (logits.empty()) return out;
  double max, lse;
  MaxAndLse(logits, &max, &lse, nullptr);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - max - lse;
  return out;
}

double KlDivergence(std::span<const float> base_logits, std::span<const float> q_logits) {
  const std::vector<double> p = LogSoftmax(base_logits), q = LogSoftmax(q_logits);
  double kl = 0;
  for (size_t i = 0; i < p.size() && i < q.size(); ++i) kl += std::exp(p[i]) * (p[i] - q[i]);
  return kl;
}

void EncodeRow(std::span<const float> logits, int32_t target, uint8_t* out) {
  double max, lse;
  RowHeader h{};
  MaxAndLse(logits, &max, &lse, &h.top);
  float min = logits[0];
  for (float v : logits) min = std::min(min, v);
  const double top_lp = -lse;  // log p of the argmax
  const double min_lp = min - max - lse;
  // lo rounded down to a float, so that the lowest entry kept stays >= lo.
  const double lo = std::max(min_lp, top_lp - kLogProbRange);
  h.lo = static_cast<float>(lo);
  if (h.lo > lo) h.lo = std::nextafter(h.lo, -std::numeric_limits<float>::infinity());
  h.step = static_cast<float>((top_lp - h.lo) / 65534.0);
  h.target_logprob = static_cast<float>(logits[static_cast<size_t>(target)] - max - lse);
  std::memcpy(out, &h, sizeof h);
  const double inv = h.step > 0 ? 1.0 / h.step : 0.0;
  uint8_t* codes = out + sizeof h;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double lp = logits[i] - max - lse;
    uint16_t c = 0;
    if (lp >= h.lo) c = static_cast<uint16_t>(std::min(65535.0, 1.0 + std::nearbyint((lp - h.lo) * inv)));
    std::memcpy(codes + 2 * i, &c, 2);
  }
}

double RowNll(const uint8_t* row) { return -static_cast<double>(ReadRowHeader(row).target_logprob); }

TokenStats CompareRow(const uint8_t* row, std::span<const float> q_logits, int32_t target) {
  const RowHeader h = ReadRowHeader(row);
  const int64_t n = static_cast<int64_t>(q_logits.size());
  double max, lse;
  int32_t top;
  MaxAndLse(q_logits, &max, &lse, &top);
  // The decoded base distribution, renormalized over its kept entries:
  // log p~_i = b_i - log Z with b_i = lo + (code - 1) * step, Z = sum exp(b_i).
  // KL = sum p~_i (b_i - log Z - log q_i), so one pass sums both Z and
  // sum exp(b_i) (b_i - log q_i).
  double z = 0, cross = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t c = Code(row, i);
    if (c == 0) continue;
    const double b = h.lo + (c - 1) * static_cast<double>(h.step);
    const double e = std::exp(b);
    z += e;
    cross += e * (b - (q_logits[static_cast<size_t>(i)] - max - lse));
  }
  TokenStats t;
  t.kld = z > 0 ? cross / z - std::log(z) : 0.0;
  t.kld = std::max(t.kld, 0.0);  // only float rounding makes it negative
  t.nll_q = -(q_logits[static_cast<size_t>(target)] - max - lse);
  t.nll_base = -static_cast<double>(h.target_logprob);
  t.same_top = top == h.top;
  return t;
}

Estimate MeanAndError(double sum, double sum2, int64_t n) {
  if (n < 1) return {};
  const double mean = sum / static_cast<double>(n);
  const double var = sum2 / static_cast<double>(n) - mean * mean;
  return {mean, var > 0 && n > 10 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0};
}

double Percentile(const std::vector<double>& v, double fraction) {
  if (fraction <= 0) return v.front();
  if (fraction >= 1) return v.back();
  const double p = fraction * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(p);
  const double f = p - static_cast<double>(i);
  return (1 - f) * v[i] + f * v[std::min(i + 1, v.size() - 1)];
}

void KldStats::Add(const TokenStats& t) {
  sum_nll_ += t.nll_q;
  sum_nll2_ += t.nll_q * t.nll_q;
  sum_nll_base_ += t.nll_base;
  sum_nll_base2_ += t.nll_base * t.nll_base;
  sum_nll_nll_base_ += t.nll_q * t.nll_base;
  sum_kld_ += t.kld;
  sum_kld2_ += t.kld * t.kld;
  const double dp = std::exp(-t.nll_q) - std::exp(-t.nll_base);
  sum_dp_ += dp;
  sum_dp2_ += dp * dp;
  sum_dp4_ += dp * dp * dp * dp;
  same_top_ += t.same_top;
  kld_.push_back(t.kld);
  dp_.push_back(dp);
}

KldSummary KldStats::Summary() const {
  KldSummary s;
  const int64_t n = count();
  s.count = n;
  if (n == 0) return s;
  const double dn = static_cast<double>(n);
  const Estimate ln_q = MeanAndError(sum_nll_, sum_nll2_, n), ln_b = MeanAndError(sum_nll_base_, sum_nll_base2_, n);
  // Covariance of the two means (llama.cpp's: 0 below 10 values).
  const double cov = n < 10 ? 0.0 : (sum_nll_nll_base_ / dn - ln_q.value * ln_b.value) / (dn - 1);
  s.ppl_q = {std::exp(ln_q.value), std::exp(ln_q.value) * ln_q.error};
  s.ppl_base = {std::exp(ln_b.value), std::exp(ln_b.value) * ln_b.error};
  s.cor_ln_ppl = ln_q.error > 0 && ln_b.error > 0 ? cov / (ln_q.error * ln_b.error) : 0.0;
  const double ratio_var = ln_q.error * ln_q.error + ln_b.error * ln_b.error - 2 * cov;
  s.ln_ppl_ratio = {ln_q.value - ln_b.value, std::sqrt(std::max(0.0, ratio_var))};
  s.ppl_ratio = {std::exp(s.ln_ppl_ratio.value), std::exp(s.ln_ppl_ratio.value) * s.ln_ppl_ratio.error};
  const double diff_var = s.ppl_q.error * s.ppl_q.error + s.ppl_base.error * s.ppl_base.error -
                          2 * s.ppl_q.value * s.ppl_base.value * cov;
  s.ppl_diff = {s.ppl_q.value - s.ppl_base.value, std::sqrt(std::max(0.0, diff_var))};

  s.kld = MeanAndError(sum_kld_, sum_kld2_, n);
  std::vector<double> k = kld_;
  std::sort(k.begin(), k.end());
  s.kld_max = k.back();
  s.kld_p999 = Percentile(k, 0.999);
  s.kld_p99 = Percentile(k, 0.99);
  s.kld_p95 = Percentile(k, 0.95);
  s.kld_p90 = Percentile(k, 0.90);
  s.kld_median = Percentile(k, 0.5);
  s.kld_p10 = Percentile(k, 0.10);
  s.kld_p5 = Percentile(k, 0.05);
  s.kld_p1 = Percentile(k, 0.01);
  s.kld_p01 = Percentile(k, 0.001);
  s.kld_min = k.front();

  s.dp = MeanAndError(sum_dp_, sum_dp2_, n);
  std::vector<double> d = dp_;
  std::sort(d.begin(), d.end());
  s.dp_max = d.back();
  s.dp_p999 = Percentile(d, 0.999);
  s.dp_p99 = Percentile(d, 0.99);
  s.dp_p95 = Percentile(d, 0.95);
  s.dp_p90 = Percentile(d, 0.90);
  s.dp_p75 = Percentile(d, 0.75);
  s.dp_median = Percentile(d, 0.5);
  s.dp_p25 = Percentile(d, 0.25);
  s.dp_p10 = Percentile(d, 0.10);
  s.dp_p5 = Percentile(d, 0.05);
  s.dp_p1 = Percentile(d, 0.01);
  s.dp_p01 = Percentile(d, 0.001);
  s.dp_min = d.front();
  const Estimate mse = MeanAndError(sum_dp2_, sum_dp4_, n);
  const double rms = std::sqrt(mse.value);
  s.rms_dp = {rms, rms > 0 ? 0.5 / rms * mse.error : 0.0};

  const double top = static_cast<double>(same_top_) / dn;
  s.same_top = {top, n > 1 ? std::sqrt(top * (1 - top) / (dn - 1)) : 0.0};
  return s;
}

// ---- The base file. ----------------------------------------------------------

StatusOr<std::unique_ptr<BaseWriter>> BaseWriter::Create(const std::string& path, const BaseHeader& h,
                                                         const std::vector<int32_t>& tokens) {
  if (h.n_vocab <= 0 || h.n_vocab > kMaxVocab || h.n_ctx < 4 || h.n_ctx > kMaxCtx || h.n_chunks <= 0 ||
      static_cast<int64_t>(tokens.size()) != h.n_ctx * h.n_chunks)
    return Status::InvalidArgument(path + ": bad base header");
  std::unique_ptr<BaseWriter> w(new BaseWriter());
  w->path_ = path;
  w->tmp_ = path + ".tmp";
  w->h_ = h;
  w->f_ = std::fopen(w->tmp_.c_str(), "wb");
  if (!w->f_) return Status::Unavailable("cannot create " + w->tmp_ + ": " + std::strerror(errno));
  std::vector<uint8_t> head(kMagic, kMagic + 8);
  PutU32(&head, kVersion);
  PutU32(&head, static_cast<uint32_t>(h.n_vocab));
  PutU32(&head, static_cast<uint32_t>(h.n_ctx));
  PutU32(&head, static_cast<uint32_t>(h.n_chunks));
  R1_RETURN_IF_ERROR(WriteAll(w->f_, head.data(), head.size(), w->tmp_));
  R1_RETURN_IF_ERROR(WriteAll(w->f_, tokens.data(), tokens.size() * sizeof(int32_t), w->tmp_));
  return w;
}

BaseWriter::~BaseWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

Status BaseWriter::WriteChunk(const std::vector<uint8_t>& rows) {
  if (!f_ || chunks_written_ >= h_.n_chunks) return Status::FailedPrecondition(path_ + ": no chunk left to write");
  if (rows.size() != static_cast<size_t>(ScoredPerChunk(h_.n_ctx)) * RowBytes(h_.n_vocab))
    return Status::InvalidArgument(path_ + ": chunk of the wrong size");
  R1_RETURN_IF_ERROR(WriteAll(f_, rows.data(), rows.size(), tmp_));
  ++chunks_written_;
  return Status::Ok();
}

Status BaseWriter::Finish() {
  if (!f_) return Status::FailedPrecondition(path_ + ": already finished");
  if (chunks_written_ != h_.n_chunks)
    return Status::FailedPrecondition(path_ + ": " + Str(chunks_written_) + " of " + Str(h_.n_chunks) +
                                      " chunks written");
  const bool flushed = std::fflush(f_) == 0;
  const bool closed = std::fclose(f_) == 0;
  f_ = nullptr;
  if (!flushed || !closed || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    std::remove(tmp_.c_str());
    return Status::Unavailable("cannot write " + path_ + ": " + err);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<BaseReader>> BaseReader::Open(const std::string& path) {
  std::unique_ptr<BaseReader> r(new BaseReader());
  r->path_ = path;
  r->f_ = std::fopen(path.c_str(), "rb");
  if (!r->f_) return Status::NotFound("cannot open base file " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(r->f_), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + ": not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint8_t head[kHeaderBytes];
  const size_t got = std::fread(head, 1, sizeof head, r->f_);
  if (got >= 8 && std::memcmp(head, "_logits_", 8) == 0)
    return Status::InvalidArgument(path + ": a llama.cpp logits file; r1 kld reads only its own (make one with "
                                          "r1 kld --save-base)");
  if (got < 8 || std::memcmp(head, kMagic, 8) != 0)
    return Status::InvalidArgument(path + ": not an r1 kld base file (no R1KLDLP magic; make one with r1 kld "
                                          "--save-base)");
  if (got < sizeof head)
    return Status::DataLoss(path + ": truncated: " + Str(static_cast<int64_t>(size)) +
                            " bytes, shorter than the header");
  uint32_t f[4];
  std::memcpy(f, head + 8, sizeof f);
  if (f[0] != kVersion)
    return Status::InvalidArgument(path + ": base file version " + Str(f[0]) + ", this r1 reads version " +
                                   Str(kVersion));
  r->h_ = {static_cast<int64_t>(f[1]), static_cast<int64_t>(f[2]), static_cast<int64_t>(f[3])};
  const BaseHeader& h = r->h_;
  if (h.n_vocab <= 0 || h.n_vocab > kMaxVocab)
    return Status::DataLoss(path + ": corrupt header: n_vocab " + Str(h.n_vocab));
  if (h.n_ctx < 4 || h.n_ctx > kMaxCtx) return Status::DataLoss(path + ": corrupt header: n_ctx " + Str(h.n_ctx));
  if (h.n_chunks <= 0 || h.n_chunks > kMaxCtx)
    return Status::DataLoss(path + ": corrupt header: n_chunks " + Str(h.n_chunks));
  const uint64_t n_tokens = static_cast<uint64_t>(h.n_ctx * h.n_chunks);
  const uint64_t chunk_bytes = static_cast<uint64_t>(ScoredPerChunk(h.n_ctx)) * RowBytes(h.n_vocab);
  r->rows_offset_ = kHeaderBytes + 4 * n_tokens;
  const uint64_t want = r->rows_offset_ + chunk_bytes * static_cast<uint64_t>(h.n_chunks);
  if (size < want) {
    const int64_t complete = size < r->rows_offset_ ? 0 : static_cast<int64_t>((size - r->rows_offset_) / chunk_bytes);
    return Status::DataLoss(path + ": truncated: " + Str(static_cast<int64_t>(size)) + " bytes, the header (" +
                            Str(h.n_chunks) + " chunks of " + Str(h.n_ctx) + " tokens, n_vocab " + Str(h.n_vocab) +
                            ") needs " + Str(static_cast<int64_t>(want)) + " (" +
                            (size < r->rows_offset_ ? std::string("the tokens are cut short")
                                                    : Str(complete) + " chunks complete") +
                            ")");
  }
  if (size > want)
    return Status::DataLoss(path + ": " + Str(static_cast<int64_t>(size - want)) +
                            " bytes after the last chunk (corrupt or not a base file)");
  r->tokens_.resize(n_tokens);
  if (std::fread(r->tokens_.data(), sizeof(int32_t), n_tokens, r->f_) != n_tokens)
    return Status::DataLoss(path + ": cannot read the tokens");
  for (size_t i = 0; i < r->tokens_.size(); ++i)
    if (r->tokens_[i] < 0 || r->tokens_[i] >= h.n_vocab)
      return Status::DataLoss(path + ": corrupt: token " + Str(static_cast<int64_t>(i)) + " is " +
                              Str(r->tokens_[i]) + ", outside the vocabulary of " + Str(h.n_vocab));
  return r;
}

BaseReader::~BaseReader() {
  if (f_) std::fclose(f_);
}

Status BaseReader::ReadChunk(int64_t i, std::vector<uint8_t>* rows) {
  if (i < 0 || i >= h_.n_chunks) return Status::OutOfRange(path_ + ": no chunk " + Str(i));
  const size_t bytes = static_cast<size_t>(ScoredPerChunk(h_.n_ctx)) * RowBytes(h_.n_vocab);
  rows->resize(bytes);
  const uint64_t off = rows_offset_ + static_cast<uint64_t>(i) * bytes;
  if (fseeko(f_, static_cast<off_t>(off), SEEK_SET) != 0 || std::fread(rows->data(), 1, bytes, f_) != bytes)
    return Status::DataLoss(path_ + ": cannot read chunk " + Str(i + 1) + " (file changed or truncated)");
  // A row's header must make sense: a corrupt one would give NaN statistics.
  const size_t rb = RowBytes(h_.n_vocab);
  for (size_t r = 0; r < bytes / rb; ++r) {
    const RowHeader rh = ReadRowHeader(rows->data() + r * rb);
    if (!std::isfinite(rh.lo) || !std::isfinite(rh.step) || rh.step < 0 || !std::isfinite(rh.target_logprob) ||
        rh.target_logprob > 1e-3f || rh.top < 0 || rh.top >= h_.n_vocab)
      return Status::DataLoss(path_ + ": corrupt row " + Str(static_cast<int64_t>(r)) + " of chunk " + Str(i + 1));
  }
  return Status::Ok();
}

}  // namespace r1::kld
