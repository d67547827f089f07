#include "gguf/imatrix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gguf/gguf.h"
#include "gguf/mapped_file.h"

namespace r1::gguf {

namespace {

constexpr const char* kSums = ".in_sum2";
constexpr const char* kCounts = ".counts";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<float> FloatsOf(const TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

StatusOr<Imatrix> ReadGguf(const std::string& path) {
  auto f = File::Open(path);
  if (!f.ok()) return f.status();
  const File& file = **f;
  Imatrix m;
  const std::string type = file.GetStringOr("general.type", "");
  if (!type.empty() && type != "imatrix")
    return Status::InvalidArgument(path + ": general.type is '" + type + "', not an importance matrix (imatrix)");
  m.chunk_count = file.GetIntOr("imatrix.chunk_count", 0);
  m.chunk_size = file.GetIntOr("imatrix.chunk_size", 0);
  if (const Value* d = file.Find("imatrix.datasets"); d && d->type == ValueType::kArray) m.datasets = d->strs;
  std::map<std::string, std::pair<const TensorInfo*, const TensorInfo*>> pairs;
  for (const TensorInfo& t : file.tensors()) {
    if (EndsWith(t.name, kSums)) {
      pairs[t.name.substr(0, t.name.size() - std::strlen(kSums))].first = &t;
    } else if (EndsWith(t.name, kCounts)) {
      pairs[t.name.substr(0, t.name.size() - std::strlen(kCounts))].second = &t;
    }
  }
  for (const auto& [name, p] : pairs) {
    const TensorInfo *sums = p.first, *counts = p.second;
    if (!sums || !counts)
      return Status::InvalidArgument(path + ": entry '" + name + "' has " + (sums ? "no" : "counts but no") +
                                     (sums ? " counts tensor (" + name + kCounts + ")" : std::string(" in_sum2")));
    if (sums->type != GgmlType::F32 || counts->type != GgmlType::F32)
      return Status::InvalidArgument(path + ": entry '" + name + "': in_sum2 and counts must be F32");
    if (sums->ne.empty() || counts->n_elements() != sums->dim(1) || sums->dim(2) != 1 || counts->dim(0) != 1)
      return Status::InvalidArgument(path + ": entry '" + name + "': in_sum2 " + sums->ShapeString() +
                                     " does not fit counts " + counts->ShapeString() + " ([ne0, n_mat] and [1, n_mat])");
    ImatrixEntry e;
    e.sums = FloatsOf(*sums);
    e.counts = FloatsOf(*counts);
    for (float c : e.counts)
      if (!(c >= 0) || !std::isfinite(c))
        return Status::InvalidArgument(path + ": entry '" + name + "' has a negative or non-finite count");
    m.entries.emplace(name, std::move(e));
  }
  if (m.entries.empty()) return Status::InvalidArgument(path + ": no importance matrix entries (*.in_sum2 tensors)");
  return m;
}

// A bounds-checked cursor over the legacy file.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* p, uint64_t n) : path_(path), p_(p), n_(n) {}
  bool done() const { return at_ == n_; }
  Status I32(const std::string& what, int32_t* v) { return Bytes(what, v, 4); }
  Status Bytes(const std::string& what, void* out, uint64_t len) {
    if (len > n_ - at_)
      return Status::DataLoss(path_ + ": truncated at byte " + std::to_string(at_) + " reading " + what);
    std::memcpy(out, p_ + at_, len);
    at_ += len;
    return Status::Ok();
  }
  uint64_t left() const { return n_ - at_; }

 private:
  const std::string& path_;
  const uint8_t* p_;
  uint64_t n_, at_ = 0;
};

StatusOr<Imatrix> ReadLegacy(const std::string& path, const MappedFile& mf) {
  Cursor c(path, mf.data(), mf.size());
  int32_t n_entries = 0;
  R1_RETURN_IF_ERROR(c.I32("the entry count", &n_entries));
  if (n_entries < 1 || static_cast<uint64_t>(n_entries) > c.left() / 12)
    return Status::InvalidArgument(path + ": not an importance matrix (entry count " + std::to_string(n_entries) +
                                   "; expected a GGUF imatrix or llama.cpp's legacy .dat)");
  Imatrix m;
  for (int32_t i = 0; i < n_entries; ++i) {
    const std::string what = "entry " + std::to_string(i + 1);
    int32_t len = 0, ncall = 0, nval = 0;
    R1_RETURN_IF_ERROR(c.I32(what + "'s name length", &len));
    if (len < 1 || len > 4096) return Status::InvalidArgument(path + ": " + what + " has a name of " + std::to_string(len) + " bytes");
    std::string name(static_cast<size_t>(len), '\0');
    R1_RETURN_IF_ERROR(c.Bytes(what + "'s name", name.data(), static_cast<uint64_t>(len)));
    R1_RETURN_IF_ERROR(c.I32("'" + name + "' call count", &ncall));
    R1_RETURN_IF_ERROR(c.I32("'" + name + "' value count", &nval));
    if (nval < 1 || static_cast<uint64_t>(nval) > c.left() / 4)
      return Status::DataLoss(path + ": entry '" + name + "' claims " + std::to_string(nval) + " values; " +
                              std::to_string(c.left()) + " bytes are left");
    if (ncall < 0) return Status::InvalidArgument(path + ": entry '" + name + "' has a negative call count");
    ImatrixEntry e;
    e.sums.resize(static_cast<size_t>(nval));
    R1_RETURN_IF_ERROR(c.Bytes("'" + name + "' values", e.sums.data(), static_cast<uint64_t>(nval) * 4));
    // values are the mean square times ncall, so ncall plays the count.
    e.counts = {static_cast<float>(ncall)};
    if (!m.entries.emplace(name, std::move(e)).second)
      return Status::InvalidArgument(path + ": entry '" + name + "' appears twice");
  }
  if (!c.done()) {
    int32_t chunks = 0, len = 0;
    R1_RETURN_IF_ERROR(c.I32("the chunk count", &chunks));
    R1_RETURN_IF_ERROR(c.I32("the dataset name length", &len));
    if (len < 0 || static_cast<uint64_t>(len) > c.left())
      return Status::DataLoss(path + ": the dataset name of " + std::to_string(len) + " bytes is cut off");
    std::string ds(static_cast<size_t>(len), '\0');
    R1_RETURN_IF_ERROR(c.Bytes("the dataset name", ds.data(), static_cast<uint64_t>(len)));
    m.chunk_count = chunks;
    m.datasets = {ds};
    if (!c.done()) return Status::InvalidArgument(path + ": " + std::to_string(c.left()) + " unexpected bytes at the end");
  }
  return m;
}

}  // namespace

std::vector<float> ImatrixEntry::Mean() const {
  std::vector<float> out(sums.size(), 1.0f);
  const int64_t per = per_mat();
  for (int64_t m = 0; m < n_mat(); ++m) {
    const float c = counts[static_cast<size_t>(m)];
    if (c <= 0) continue;
    for (int64_t j = 0; j < per; ++j) {
      const size_t i = static_cast<size_t>(m * per + j);
      out[i] = sums[i] / c;
    }
  }
  return out;
}

const ImatrixEntry* Imatrix::Find(const std::string& weight) const {
  auto it = entries.find(weight);
  return it == entries.end() ? nullptr : &it->second;
}

StatusOr<Imatrix> ReadImatrix(const std::string& path) {
  auto mf = MappedFile::Open(path, 4, "an importance matrix header");
  if (!mf.ok()) return mf.status();
  if (std::memcmp((*mf)->data(), "GGUF", 4) == 0) {
    mf->reset();
    return ReadGguf(path);
  }
  return ReadLegacy(path, **mf);
}

Status WriteImatrix(const Imatrix& m, const std::string& path) {
  Writer w;
  w.Set("general.type", Value::String("imatrix"));
  w.Set("imatrix.datasets", Value::StringArray(m.datasets));
  w.Set("imatrix.chunk_count", Value::U32(static_cast<uint32_t>(m.chunk_count)));
  w.Set("imatrix.chunk_size", Value::U32(static_cast<uint32_t>(m.chunk_size)));
  for (const auto& [name, e] : m.entries) {
    if (e.counts.empty() || e.sums.size() % e.counts.size() != 0)
      return Status::InvalidArgument(path + ": entry '" + name + "' has " + std::to_string(e.sums.size()) +
                                     " sums for " + std::to_string(e.counts.size()) + " matrices");
    R1_RETURN_IF_ERROR(w.AddTensor(name + kSums, {e.per_mat(), e.n_mat()}, GgmlType::F32, e.sums.data(),
                                   e.sums.size() * sizeof(float)));
    R1_RETURN_IF_ERROR(w.AddTensor(name + kCounts, {1, e.n_mat()}, GgmlType::F32, e.counts.data(),
                                   e.counts.size() * sizeof(float)));
  }
  return w.Write(path);
}

Status WriteImatrixLegacy(const Imatrix& m, const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  auto i32 = [&](int64_t v) {
    const int32_t x = static_cast<int32_t>(v);
    out.write(reinterpret_cast<const char*>(&x), 4);
  };
  i32(static_cast<int64_t>(m.entries.size()));
  for (const auto& [name, e] : m.entries) {
    // One call count for all the entry's matrices: values are each
    // matrix's mean times it.
    const float max_count = e.counts.empty() ? 0.0f : *std::max_element(e.counts.begin(), e.counts.end());
    const int64_t ncall = std::max<int64_t>(1, m.chunk_size > 0 ? std::llround(max_count / m.chunk_size) : 1);
    std::vector<float> values = e.Mean();
    for (float& v : values) v *= static_cast<float>(ncall);
    i32(static_cast<int64_t>(name.size()));
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    i32(ncall);
    i32(static_cast<int64_t>(values.size()));
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  }
  i32(m.chunk_count);
  const std::string ds = m.datasets.empty() ? "" : m.datasets.front();
  i32(static_cast<int64_t>(ds.size()));
  out.write(ds.data(), static_cast<std::streamsize>(ds.size()));
  out.close();
  if (!out) return Status::InvalidArgument(path + ": cannot write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::InvalidArgument(path + ": cannot rename " + tmp);
  return Status::Ok();
}

}  // namespace r1::gguf
