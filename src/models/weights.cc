#include "models/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>

#include "kernels/quant.h"

namespace r1 {
namespace {
std::string Shape(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}
}  // namespace

StatusOr<const gguf::TensorInfo*> Weights::Find(const std::string& name, const std::vector<int64_t>& ne) {
  const gguf::TensorInfo* t = f_.FindTensor(name);
  if (!t) return Status::NotFound(f_.path() + ": tensor '" + name + "' not found");
  std::vector<int64_t> have = t->ne;
  while (have.size() > ne.size() && have.back() == 1) have.pop_back();
  if (have != ne)
    return Status::InvalidArgument(f_.path() + ": tensor '" + name + "' has shape " + t->ShapeString() +
                                   ", expected " + Shape(ne));
  if (!kernels::IsSupported(t->type)) {
    std::string supported;
    for (int id = 0; id < 64; ++id)
      if (kernels::IsSupported(static_cast<GgmlType>(id)))
        supported += (supported.empty() ? "" : ", ") + GgmlTypeName(static_cast<GgmlType>(id));
    return Status::Unimplemented(f_.path() + ": tensor '" + name + "' has type " + GgmlTypeName(t->type) +
                                 ", which r1.cpp does not support (supported: " + supported + ")");
  }
  bytes_ += t->nbytes;
  return t;
}

Weights::Weights(const gguf::File& f, const LoadOptions& opts)
    : f_(f), repack_(opts.repack && kernels::RepackEnabledByEnv()), pool_(opts.pool) {}

Weights::~Weights() = default;

void Weights::Pack(kernels::Matrix* m, bool release) {
  if (!repack_ || kernels::FastPackedDot(m->type) == nullptr) return;
  if (pool_ == nullptr) {
    own_pool_ = std::make_unique<ThreadPool>();
    pool_ = own_pool_.get();
  }
  if (!packed_) packed_ = std::make_unique<kernels::PackedWeights>();
  const auto t0 = std::chrono::steady_clock::now();
  if (packed_->Pack(m, *pool_) && release) {
    // The packed copy serves the matmuls from now on: let the kernel drop the
    // original's pages from this process (they stay valid and are re-read
    // from the file if anything touches them, e.g. an embedding lookup), so
    // resident memory stays about one copy of the weights.
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto b = reinterpret_cast<uintptr_t>(m->data);
    const uintptr_t lo = (b + page - 1) & ~(page - 1);
    const uintptr_t hi = (b + m->row_bytes * static_cast<uintptr_t>(m->rows)) & ~(page - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
  pack_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<kernels::PackedWeights> Weights::TakePacked() { return std::move(packed_); }

StatusOr<kernels::Matrix> Weights::Matrix(const std::string& name, int64_t k, int64_t rows, bool pack) {
  auto t = Find(name, {k, rows});
  if (!t.ok()) return t.status();
  kernels::Matrix m;
  m.type = (*t)->type;
  m.data = (*t)->data;
  m.k = k;
  m.rows = rows;
  m.row_bytes = GgmlRowSize(m.type, k);
  if (pack) Pack(&m);
  return m;
}

StatusOr<kernels::Matrix> Weights::Experts(const std::string& name, int64_t k, int64_t rows, int64_t n_expert) {
  auto t = Find(name, {k, rows, n_expert});
  if (!t.ok()) return t.status();
  kernels::Matrix m;
  m.type = (*t)->type;
  m.data = (*t)->data;
  m.k = k;
  m.rows = rows * n_expert;
  m.row_bytes = GgmlRowSize(m.type, k);
  Pack(&m);
  return m;
}

StatusOr<std::vector<float>> Weights::Vector(const std::string& name, int64_t n) {
  auto t = Find(name, {n});
  if (!t.ok()) return t.status();
  std::vector<float> v(static_cast<size_t>(n));
  kernels::Dequantize((*t)->type, (*t)->data, v.data(), n);
  return v;
}

Status Weights::Load(const std::string& name, int64_t k, int64_t rows, kernels::Matrix* out, bool pack) {
  auto m = Matrix(name, k, rows, pack);
  if (!m.ok()) return m.status();
  *out = *m;
  return Status::Ok();
}

Status Weights::Load(const std::string& name, int64_t n, std::vector<float>* out) {
  auto v = Vector(name, n);
  if (!v.ok()) return v.status();
  *out = std::move(*v);
  return Status::Ok();
}

kernels::Matrix DerivedMatrix(const std::vector<float>& rows, int64_t k, int64_t n_rows, GgmlType src,
                              std::vector<std::vector<uint8_t>>& storage) {
  GgmlType t = GgmlType::F32;
  if (src == GgmlType::F16 || src == GgmlType::BF16) t = src;
  else if (src != GgmlType::F32 && k % 32 == 0) t = GgmlType::Q8_0;
  kernels::Matrix m;
  m.type = t;
  m.k = k;
  m.rows = n_rows;
  m.row_bytes = GgmlRowSize(t, k);
  storage.emplace_back(m.row_bytes * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r)
    kernels::Quantize(t, rows.data() + r * k, storage.back().data() + static_cast<size_t>(r) * m.row_bytes, k);
  m.data = storage.back().data();
  return m;
}

std::vector<float> ToFloat(const kernels::Matrix& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.k));
  for (int64_t r = 0; r < m.rows; ++r)
    kernels::Dequantize(m.type, static_cast<const uint8_t*>(m.data) + static_cast<size_t>(r) * m.row_bytes,
                        out.data() + r * m.k, m.k);
  return out;
}

}  // namespace r1
