#include "runtime/imatrix_collector.h"

#include <algorithm>
#include <mutex>

namespace r1 {

ImatrixCollector::ImatrixCollector(const gguf::File& file) {
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (t.ne.size() < 2 || t.nbytes == 0) continue;
    const uint64_t n_mat = static_cast<uint64_t>(t.ne.size() >= 3 ? t.dim(2) : 1);
    weights_.push_back({t.data, t.nbytes, &t, t.nbytes / n_mat});
  }
  std::sort(weights_.begin(), weights_.end(), [](const Weight& a, const Weight& b) { return a.begin < b.begin; });
}

ImatrixCollector::~ImatrixCollector() { Stop(); }

void ImatrixCollector::Start() {
  kernels::SetMatMulObserver([this](const kernels::Matrix& w, const kernels::QuantizedActs& x) { Observe(w, x); });
  started_ = true;
}

void ImatrixCollector::Stop() {
  if (started_) kernels::SetMatMulObserver(nullptr);
  started_ = false;
}

void ImatrixCollector::Observe(const kernels::Matrix& w, const kernels::QuantizedActs& x) {
  const auto* p = static_cast<const uint8_t*>(w.data);
  auto it = std::upper_bound(weights_.begin(), weights_.end(), p,
                             [](const uint8_t* q, const Weight& wt) { return q < wt.begin; });
  if (it == weights_.begin()) return;
  const Weight& wt = *--it;
  if (p >= wt.begin + wt.nbytes) return;
  const uint64_t off = static_cast<uint64_t>(p - wt.begin);
  // A matmul over a later row range of the same matrix (a split shared
  // expert) sees the same input as the one from its first row: count once.
  if (off % wt.mat_bytes != 0 || w.k != wt.info->ne[0]) return;
  const int64_t ne0 = wt.info->ne[0];
  const size_t m = static_cast<size_t>(off / wt.mat_bytes), n_mat = static_cast<size_t>(wt.nbytes / wt.mat_bytes);
  // The routed experts of a MoE layer run on several threads at once: the
  // map is shared. Each (weight, expert) slice is fed by one matmul at a time,
  // so its sums stay in token order.
  std::vector<float> row(static_cast<size_t>(ne0));
  std::lock_guard<std::mutex> lock(mu_);
  Acc& a = acc_[wt.info->name];
  if (a.counts.empty()) {
    a.counts.assign(n_mat, 0.0);
    a.sums.assign(n_mat * static_cast<size_t>(ne0), 0.0);
  }
  double* sums = a.sums.data() + m * static_cast<size_t>(ne0);
  for (int64_t t = 0; t < x.n_tokens; ++t) {
    kernels::DequantizeActs(x, t, row.data());
    for (int64_t j = 0; j < ne0; ++j) sums[j] += static_cast<double>(row[static_cast<size_t>(j)]) * row[static_cast<size_t>(j)];
  }
  a.counts[m] += static_cast<double>(x.n_tokens);
}

gguf::Imatrix ImatrixCollector::Result(int64_t chunk_count, int64_t chunk_size, const std::string& dataset) const {
  gguf::Imatrix out;
  out.chunk_count = chunk_count;
  out.chunk_size = chunk_size;
  if (!dataset.empty()) out.datasets = {dataset};
  for (const auto& [name, a] : acc_) {
    gguf::ImatrixEntry e;
    e.sums.assign(a.sums.begin(), a.sums.end());
    e.counts.assign(a.counts.begin(), a.counts.end());
    out.entries.emplace(name, std::move(e));
  }
  return out;
}

}  // namespace r1
