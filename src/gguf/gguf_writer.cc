// GGUF writer: collects metadata and tensors, then writes one file.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "gguf/gguf.h"

namespace r1::gguf {
namespace {

class Out {
 public:
  explicit Out(std::FILE* f) : f_(f) {}
  template <typename T>
  void Put(const T& v) { Bytes(&v, sizeof v); }
  void Bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) ok_ = false;
    pos_ += n;
  }
  void Str(const std::string& s) { Put<uint64_t>(s.size()); Bytes(s.data(), s.size()); }
  void PadTo(uint64_t align) {
    static const uint8_t zeros[64] = {};
    while (pos_ % align) Bytes(zeros, std::min<uint64_t>(sizeof zeros, align - pos_ % align));
  }
  bool ok() const { return ok_; }

 private:
  std::FILE* f_;
  uint64_t pos_ = 0;
  bool ok_ = true;
};

void PutScalar(Out& o, ValueType t, int64_t i, double f) {
  switch (t) {
    case ValueType::kUint8: o.Put<uint8_t>(static_cast<uint8_t>(i)); break;
    case ValueType::kInt8: o.Put<int8_t>(static_cast<int8_t>(i)); break;
    case ValueType::kUint16: o.Put<uint16_t>(static_cast<uint16_t>(i)); break;
    case ValueType::kInt16: o.Put<int16_t>(static_cast<int16_t>(i)); break;
    case ValueType::kUint32: o.Put<uint32_t>(static_cast<uint32_t>(i)); break;
    case ValueType::kInt32: o.Put<int32_t>(static_cast<int32_t>(i)); break;
    case ValueType::kUint64: o.Put<uint64_t>(static_cast<uint64_t>(i)); break;
    case ValueType::kInt64: o.Put<int64_t>(i); break;
    case ValueType::kFloat32: o.Put<float>(static_cast<float>(f)); break;
    case ValueType::kFloat64: o.Put<double>(f); break;
    case ValueType::kBool: o.Put<uint8_t>(i != 0); break;
    default: break;
  }
}

void PutValue(Out& o, const Value& v) {
  if (v.type == ValueType::kString) return o.Str(v.str);
  if (v.type != ValueType::kArray) {
    int64_t i = v.type == ValueType::kBool ? v.b : v.i;
    if (v.type == ValueType::kUint64) i = static_cast<int64_t>(v.u);
    return PutScalar(o, v.type, i, v.f);
  }
  o.Put<uint32_t>(static_cast<uint32_t>(v.elem_type));
  o.Put<uint64_t>(v.array_size());
  for (const auto& s : v.strs) o.Str(s);
  for (int64_t i : v.ints) PutScalar(o, v.elem_type, i, 0);
  for (double f : v.floats) PutScalar(o, v.elem_type, 0, f);
  for (const auto& a : v.arrays) PutValue(o, a);
}

}  // namespace

void Writer::Set(std::string key, Value v) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(v));
}

StatusOr<size_t> Writer::CheckedSize(const std::string& name, const std::vector<int64_t>& ne, GgmlType type) {
  GgmlTypeTraits tr = GgmlTypeInfo(type);
  if (!tr.name) return Status::InvalidArgument("tensor '" + name + "': unknown type");
  if (ne.empty() || ne.size() > 4) return Status::InvalidArgument("tensor '" + name + "': 1..4 dims required");
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  if (ne[0] % tr.block_size) return Status::InvalidArgument("tensor '" + name + "': row not a multiple of the block size");
  return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

Status Writer::AddTensor(std::string name, std::vector<int64_t> ne, GgmlType type, const void* bytes,
                         size_t nbytes) {
  StatusOr<size_t> want = CheckedSize(name, ne, type);
  if (!want.ok()) return want.status();
  if (*want != nbytes)
    return Status::InvalidArgument("tensor '" + name + "': " + std::to_string(nbytes) + " bytes given, " +
                                   std::to_string(*want) + " expected");
  const auto* p = static_cast<const uint8_t*>(bytes);
  tensors_.push_back({std::move(name), std::move(ne), type, nbytes, false, std::vector<uint8_t>(p, p + nbytes)});
  return Status::Ok();
}

Status Writer::DeclareTensor(std::string name, std::vector<int64_t> ne, GgmlType type) {
  StatusOr<size_t> nbytes = CheckedSize(name, ne, type);
  if (!nbytes.ok()) return nbytes.status();
  tensors_.push_back({std::move(name), std::move(ne), type, *nbytes, true, {}});
  return Status::Ok();
}

Status Writer::Write(const std::string& path, const FillFn& fill) const {
  return WritePart(path, fill, 0, tensors_.size(), {}, true);
}

Status Writer::WriteSplit(const std::string& prefix, int n_parts, const FillFn& fill) const {
  if (n_parts < 1 || n_parts > 65535 || static_cast<size_t>(n_parts) > std::max<size_t>(tensors_.size(), 1))
    return Status::InvalidArgument("cannot split " + std::to_string(tensors_.size()) + " tensors into " +
                                   std::to_string(n_parts) + " parts");
  // Contiguous runs of tensors of about equal bytes, each part at least one.
  uint64_t total = 0;
  for (const auto& t : tensors_) total += t.nbytes;
  std::vector<size_t> cut = {0};
  uint64_t acc = 0;
  for (size_t i = 0; i < tensors_.size() && static_cast<int>(cut.size()) < n_parts; ++i) {
    acc += tensors_[i].nbytes;
    const size_t left = tensors_.size() - (i + 1), parts_left = static_cast<size_t>(n_parts) - cut.size();
    if ((acc * static_cast<uint64_t>(n_parts) >= total * cut.size() && left >= parts_left) || left == parts_left)
      cut.push_back(i + 1);
  }
  cut.push_back(tensors_.size());
  auto u16 = [](uint64_t x) {
    Value v;
    v.type = ValueType::kUint16;
    v.u = x;
    v.i = static_cast<int64_t>(x);
    return v;
  };
  for (int k = 0; k < n_parts; ++k) {
    std::vector<std::pair<std::string, Value>> keys = {
        {"split.no", u16(static_cast<uint64_t>(k))},
        {"split.count", u16(static_cast<uint64_t>(n_parts))},
        {"split.tensors.count", Value::I32(static_cast<int32_t>(tensors_.size()))}};
    R1_RETURN_IF_ERROR(WritePart(File::SplitPath(prefix, k, n_parts), fill, cut[static_cast<size_t>(k)],
                                 cut[static_cast<size_t>(k) + 1], keys, k == 0));
  }
  return Status::Ok();
}

Status Writer::WritePart(const std::string& path, const FillFn& fill, size_t begin, size_t end,
                         const std::vector<std::pair<std::string, Value>>& extra, bool metadata) const {
  // Written to a temporary name and renamed into place, so a reader that has
  // the old file mmapped keeps a valid mapping (a rewrite in place would hand
  // it SIGBUS), and a crash never leaves a half-written model under `path`.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  for (size_t i = begin; i < end; ++i)
    if (tensors_[i].streamed && !fill)
      return Status::InvalidArgument("tensor '" + tensors_[i].name + "' declared but no fill given");
  Status st = WriteTo(tmp, fill, begin, end, extra, metadata);
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    st = Status::Internal(path + ": cannot rename " + tmp + " into place: " + std::strerror(errno));
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

Status Writer::WriteTo(const std::string& path, const FillFn& fill, size_t begin, size_t end,
                       const std::vector<std::pair<std::string, Value>>& extra, bool metadata) const {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Status::InvalidArgument(path + ": cannot open for writing: " + std::strerror(errno));
  Out o(f.get());
  o.Put<uint32_t>(kMagic);
  o.Put<uint32_t>(version_);
  o.Put<uint64_t>(end - begin);
  bool write_alignment = alignment_ != kDefaultAlignment;
  o.Put<uint64_t>((metadata ? kv_.size() : 0) + extra.size() + (write_alignment ? 1 : 0));
  for (const auto* list : {&kv_, &extra}) {
    if (list == &kv_ && !metadata) continue;
    for (const auto& [key, v] : *list) {
      o.Str(key);
      o.Put<uint32_t>(static_cast<uint32_t>(v.type));
      PutValue(o, v);
    }
  }
  if (write_alignment) {
    o.Str("general.alignment");
    o.Put<uint32_t>(static_cast<uint32_t>(ValueType::kUint32));
    o.Put<uint32_t>(static_cast<uint32_t>(alignment_));
  }
  uint64_t offset = 0;
  for (size_t i = begin; i < end; ++i) {
    const PendingTensor& t = tensors_[i];
    o.Str(t.name);
    o.Put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) o.Put<uint64_t>(static_cast<uint64_t>(d));
    o.Put<uint32_t>(static_cast<uint32_t>(t.type));
    o.Put<uint64_t>(offset);
    offset += (t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  o.PadTo(alignment_);
  std::vector<uint8_t> buf;  // one streamed tensor at a time
  for (size_t i = begin; i < end; ++i) {
    const PendingTensor& t = tensors_[i];
    if (t.streamed) {
      buf.assign(t.nbytes, 0);
      R1_RETURN_IF_ERROR(fill(i, buf.data(), buf.size()));
      o.Bytes(buf.data(), buf.size());
    } else {
      o.Bytes(t.bytes.data(), t.bytes.size());
    }
    o.PadTo(alignment_);
  }
  if (!o.ok() || std::fflush(f.get()) != 0) return Status::Internal(path + ": write failed (disk full?)");
  return Status::Ok();
}

}  // namespace r1::gguf
