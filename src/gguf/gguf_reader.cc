// GGUF reader: mmap + bounds-checked parse. See gguf.h for the layout.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "gguf/gguf.h"
#include "gguf/mapped_file.h"

namespace r1::gguf {
namespace {

// Limits that keep a hostile file from making us allocate absurd amounts
// before the bounds checks catch it. Real files are far below them.
constexpr uint64_t kMaxDims = 4;              // GGML_MAX_DIMS
constexpr uint64_t kMaxArrayNesting = 4;

// A cursor over the mapped bytes. Every read checks the remaining size.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <typename T>
  bool Read(T* out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool ReadString(std::string* out) {
    uint64_t len;
    if (!Read(&len) || len > remaining()) return false;
    out->assign(reinterpret_cast<const char*>(base_ + pos_), len);
    pos_ += len;
    return true;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Bytes a scalar of type t occupies, 0 for string/array/unknown.
uint64_t ScalarSize(ValueType t) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    default: return 0;
  }
}

bool KnownType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kFloat64); }

// Reads one scalar of type t into (i, u, f, b).
bool ReadScalar(Cursor& c, ValueType t, Value* v) {
  switch (t) {
    case ValueType::kUint8: { uint8_t x; if (!c.Read(&x)) return false; v->u = x; v->i = x; return true; }
    case ValueType::kInt8: { int8_t x; if (!c.Read(&x)) return false; v->i = x; v->u = static_cast<uint64_t>(x); return true; }
    case ValueType::kUint16: { uint16_t x; if (!c.Read(&x)) return false; v->u = x; v->i = x; return true; }
    case ValueType::kInt16: { int16_t x; if (!c.Read(&x)) return false; v->i = x; v->u = static_cast<uint64_t>(x); return true; }
    case ValueType::kUint32: { uint32_t x; if (!c.Read(&x)) return false; v->u = x; v->i = x; return true; }
    case ValueType::kInt32: { int32_t x; if (!c.Read(&x)) return false; v->i = x; v->u = static_cast<uint64_t>(x); return true; }
    case ValueType::kUint64: { uint64_t x; if (!c.Read(&x)) return false; v->u = x; v->i = static_cast<int64_t>(x); return true; }
    case ValueType::kInt64: { int64_t x; if (!c.Read(&x)) return false; v->i = x; v->u = static_cast<uint64_t>(x); return true; }
    case ValueType::kFloat32: { float x; if (!c.Read(&x)) return false; v->f = x; return true; }
    case ValueType::kFloat64: { double x; if (!c.Read(&x)) return false; v->f = x; return true; }
    case ValueType::kBool: { uint8_t x; if (!c.Read(&x)) return false; v->b = x != 0; v->i = v->u = x; return true; }
    default: return false;
  }
}

class Parser {
 public:
  Parser(Cursor& c, const std::string& path) : c_(c), path_(path) {}

  Status Error(const std::string& what) const {
    return Status::DataLoss(path_ + ": " + what + " (at byte offset " + std::to_string(c_.pos()) + ")");
  }

  Status ReadValue(ValueType type, const std::string& key, Value* v, uint64_t depth) {
    v->type = type;
    if (type == ValueType::kString) {
      if (!c_.ReadString(&v->str)) return Error("key '" + key + "': string length exceeds the file");
      return Status::Ok();
    }
    if (type != ValueType::kArray) {
      if (!ReadScalar(c_, type, v)) return Error("key '" + key + "': value truncated");
      return Status::Ok();
    }
    if (depth >= kMaxArrayNesting) return Error("key '" + key + "': arrays nested too deeply");
    uint32_t et;
    uint64_t n;
    if (!c_.Read(&et)) return Error("key '" + key + "': array element type truncated");
    if (!KnownType(et)) return Error("key '" + key + "': unknown array element type " + std::to_string(et));
    if (!c_.Read(&n)) return Error("key '" + key + "': array length truncated");
    v->elem_type = static_cast<ValueType>(et);
    // Each element takes at least one byte (8 for a string's length), so a
    // count larger than what remains is a lie; reject it before allocating.
    uint64_t min_elem = v->elem_type == ValueType::kString ? 8
                        : v->elem_type == ValueType::kArray ? 12
                                                            : ScalarSize(v->elem_type);
    if (n > c_.remaining() / min_elem)
      return Error("key '" + key + "': array of " + std::to_string(n) + " elements exceeds the file");
    if (v->elem_type == ValueType::kString) {
      v->strs.resize(n);
      for (uint64_t i = 0; i < n; ++i)
        if (!c_.ReadString(&v->strs[i]))
          return Error("key '" + key + "': string " + std::to_string(i) + " exceeds the file");
    } else if (v->elem_type == ValueType::kArray) {
      v->arrays.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        uint32_t sub = static_cast<uint32_t>(ValueType::kArray);
        R1_RETURN_IF_ERROR(ReadValue(static_cast<ValueType>(sub), key, &v->arrays[i], depth + 1));
      }
    } else {
      bool is_float = v->elem_type == ValueType::kFloat32 || v->elem_type == ValueType::kFloat64;
      if (is_float) v->floats.resize(n); else v->ints.resize(n);
      Value tmp;
      for (uint64_t i = 0; i < n; ++i) {
        if (!ReadScalar(c_, v->elem_type, &tmp)) return Error("key '" + key + "': array truncated");
        if (is_float) v->floats[i] = tmp.f; else v->ints[i] = tmp.i;
      }
    }
    return Status::Ok();
  }

 private:
  Cursor& c_;
  const std::string& path_;
};

}  // namespace

StatusOr<std::unique_ptr<File>> File::Open(const std::string& path) {
  auto f = OpenOne(path);
  if (!f.ok()) return f.status();
  R1_RETURN_IF_ERROR((*f)->OpenParts());
  return f;
}

std::string File::SplitPath(const std::string& prefix, int no, int count) {
  char tail[64];
  std::snprintf(tail, sizeof tail, "-%05d-of-%05d.gguf", no + 1, count);
  return prefix + tail;
}

namespace {

// A split key of part `path` as an integer in [lo, hi]; -1 when absent.
StatusOr<int64_t> SplitKey(const File& f, const char* key, int64_t lo, int64_t hi) {
  const Value* v = f.Find(key);
  if (!v) return int64_t{-1};
  if (!v->is_integer()) return Status::DataLoss(f.path() + ": key '" + key + "' must be an integer, got " + v->Summary());
  const int64_t x = v->type == ValueType::kInt8 || v->type == ValueType::kInt16 || v->type == ValueType::kInt32 ||
                            v->type == ValueType::kInt64
                        ? v->i
                        : static_cast<int64_t>(std::min<uint64_t>(v->u, static_cast<uint64_t>(hi) + 1));
  if (x < lo || x > hi)
    return Status::DataLoss(f.path() + ": key '" + key + "' = " + std::to_string(x) + " is out of range [" +
                            std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

// "dir/NAME-00001-of-00003.gguf" -> prefix "dir/NAME", no 0, count 3.
bool ParseSplitName(const std::string& path, std::string* prefix, int* no, int* count) {
  constexpr size_t kTail = 20;  // "-00001-of-00003.gguf"
  if (path.size() <= kTail) return false;
  const std::string tail = path.substr(path.size() - kTail);
  if (tail[0] != '-' || tail.compare(6, 4, "-of-") != 0 || tail.compare(15, 5, ".gguf") != 0) return false;
  for (size_t i : {1, 2, 3, 4, 5, 10, 11, 12, 13, 14})
    if (tail[i] < '0' || tail[i] > '9') return false;
  *prefix = path.substr(0, path.size() - kTail);
  *no = std::stoi(tail.substr(1, 5)) - 1;
  *count = std::stoi(tail.substr(10, 5));
  return true;
}

}  // namespace

Status File::OpenParts() {
  part_paths_ = {path_};
  part_sizes_ = {size_};
  total_size_ = size_;
  auto count = SplitKey(*this, "split.count", 0, 65535);
  if (!count.ok()) return count.status();
  if (*count <= 1) return Status::Ok();
  auto no = SplitKey(*this, "split.no", 0, *count - 1);
  if (!no.ok()) return no.status();
  auto total = SplitKey(*this, "split.tensors.count", 0, std::numeric_limits<int32_t>::max());
  if (!total.ok()) return total.status();
  std::string prefix;
  int name_no = 0, name_count = 0;
  const bool named = ParseSplitName(path_, &prefix, &name_no, &name_count);
  if (*no != 0)
    return Status::InvalidArgument(path_ + ": is part " + std::to_string(*no + 1) + " of a " + std::to_string(*count) +
                                   "-part split file; open the first part" +
                                   (named ? " (" + SplitPath(prefix, 0, static_cast<int>(*count)) + ")" : ""));
  if (!named || name_no != 0 || name_count != *count)
    return Status::InvalidArgument(path_ + ": is the first of " + std::to_string(*count) +
                                   " parts (split.count), but its name does not follow NAME-00001-of-" +
                                   SplitPath("", 0, static_cast<int>(*count)).substr(10, 5) +
                                   ".gguf, so the other parts cannot be found");
  if (*total < 0) return Status::DataLoss(path_ + ": split file without the key 'split.tensors.count'");
  for (int i = 1; i < *count; ++i) {
    const std::string part_path = SplitPath(prefix, i, static_cast<int>(*count));
    auto part = OpenOne(part_path);
    if (!part.ok()) {
      if (part.status().code() == StatusCode::kNotFound)
        return Status::NotFound(path_ + ": part " + std::to_string(i + 1) + " of " + std::to_string(*count) +
                                " is missing: " + part.status().message());
      return part.status().WithContext(path_ + ": part " + std::to_string(i + 1) + " of " + std::to_string(*count));
    }
    File& p = **part;
    auto pc = SplitKey(p, "split.count", 0, 65535);
    auto pn = SplitKey(p, "split.no", 0, 65535);
    auto pt = SplitKey(p, "split.tensors.count", 0, std::numeric_limits<int32_t>::max());
    for (const auto* st : {&pc, &pn, &pt})
      if (!st->ok()) return st->status();
    if (*pc != *count || *pn != i || *pt != *total)
      return Status::InvalidArgument(part_path + ": is not part " + std::to_string(i + 1) + " of " + path_ +
                                     "'s set (split.no " + std::to_string(*pn) + ", split.count " + std::to_string(*pc) +
                                     ", split.tensors.count " + std::to_string(*pt) + "; expected " + std::to_string(i) +
                                     ", " + std::to_string(*count) + ", " + std::to_string(*total) + ")");
    for (TensorInfo& t : p.tensors_) {
      if (tensor_index_.count(t.name))
        return Status::DataLoss(part_path + ": tensor '" + t.name + "' is also in an earlier part");
      t.part = i;
      tensor_index_[t.name] = tensors_.size();
      tensors_.push_back(t);  // data still points into the part's own map
    }
    part_paths_.push_back(part_path);
    part_sizes_.push_back(p.size_);
    total_size_ += p.size_;
    parts_.push_back(std::move(*part));
  }
  if (static_cast<int64_t>(tensors_.size()) != *total)
    return Status::DataLoss(path_ + ": the " + std::to_string(*count) + " parts hold " + std::to_string(tensors_.size()) +
                            " tensors, but split.tensors.count is " + std::to_string(*total));
  return Status::Ok();
}

StatusOr<std::unique_ptr<File>> File::Assemble(std::string path, std::vector<std::pair<std::string, Value>> kv,
                                               std::vector<TensorInfo> tensors, std::shared_ptr<void> keep) {
  std::unique_ptr<File> f(new File());
  f->path_ = std::move(path);
  f->version_ = 3;
  f->kv_ = std::move(kv);
  for (size_t i = 0; i < f->kv_.size(); ++i) f->kv_index_[f->kv_[i].first] = i;
  f->tensors_ = std::move(tensors);
  for (size_t i = 0; i < f->tensors_.size(); ++i) {
    if (!f->tensor_index_.emplace(f->tensors_[i].name, i).second)
      return Status::InvalidArgument(f->path_ + ": tensor '" + f->tensors_[i].name + "' twice");
    f->total_size_ += f->tensors_[i].nbytes;
  }
  f->part_paths_ = {f->path_};
  f->part_sizes_ = {f->total_size_};
  f->keep_ = std::move(keep);
  return f;
}

StatusOr<std::unique_ptr<File>> File::OpenOne(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  auto m = MappedFile::Open(path, 24, "a GGUF header");
  if (!m.ok()) return m.status();
  f->file_ = std::move(*m);
  f->map_ = f->file_->data();
  f->size_ = f->file_->size();
  R1_RETURN_IF_ERROR(f->Parse());
  return f;
}

File::~File() = default;

Status File::Parse() {
  Cursor c(map_, size_);
  Parser p(c, path_);
  uint32_t magic;
  uint64_t n_tensors, n_kv;
  if (!c.Read(&magic) || magic != kMagic) return Status::InvalidArgument(path_ + ": not a GGUF file (bad magic)");
  if (!c.Read(&version_)) return p.Error("header truncated");
  if (version_ == 1) return Status::Unimplemented(path_ + ": GGUF v1 is not supported; re-convert the model");
  if (version_ != 2 && version_ != 3)
    return Status::Unimplemented(path_ + ": unsupported GGUF version " + std::to_string(version_));
  if (!c.Read(&n_tensors) || !c.Read(&n_kv)) return p.Error("header truncated");
  // A key-value pair takes at least 12 bytes, a tensor info at least 24.
  if (n_kv > c.remaining() / 12) return p.Error("metadata count " + std::to_string(n_kv) + " exceeds the file");
  if (n_tensors > c.remaining() / 24) return p.Error("tensor count " + std::to_string(n_tensors) + " exceeds the file");

  kv_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    uint32_t type;
    if (!c.ReadString(&key)) return p.Error("metadata key " + std::to_string(i) + ": name exceeds the file");
    if (!c.Read(&type)) return p.Error("key '" + key + "': type truncated");
    if (!KnownType(type)) return p.Error("key '" + key + "': unknown value type " + std::to_string(type));
    Value v;
    R1_RETURN_IF_ERROR(p.ReadValue(static_cast<ValueType>(type), key, &v, 0));
    if (kv_index_.count(key)) return p.Error("duplicate key '" + key + "'");
    kv_index_[key] = kv_.size();
    kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const Value* a = Find("general.alignment")) {
    if (!a->is_integer() || a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > (1u << 20))
      return Status::DataLoss(path_ + ": key 'general.alignment' must be a power of two, got " + a->Summary());
    alignment_ = a->u;
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    uint32_t n_dims, type;
    if (!c.ReadString(&t.name)) return p.Error("tensor " + std::to_string(i) + ": name exceeds the file");
    if (!c.Read(&n_dims)) return p.Error("tensor '" + t.name + "': dims truncated");
    if (n_dims == 0 || n_dims > kMaxDims)
      return p.Error("tensor '" + t.name + "': " + std::to_string(n_dims) + " dimensions (1.." + std::to_string(kMaxDims) + " allowed)");
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne;
      if (!c.Read(&ne)) return p.Error("tensor '" + t.name + "': dims truncated");
      if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          n_el > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)
        return p.Error("tensor '" + t.name + "': dimension " + std::to_string(d) + " = " + std::to_string(ne) + " is invalid");
      n_el *= ne;
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    if (!c.Read(&type) || !c.Read(&t.offset)) return p.Error("tensor '" + t.name + "': info truncated");
    GgmlTypeTraits tr = GgmlTypeInfo(type);
    if (!tr.name || type == static_cast<uint32_t>(GgmlType::F8_E4M3_B64))
      return p.Error("tensor '" + t.name + "': unknown ggml type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    if (t.ne[0] % tr.block_size != 0)
      return p.Error("tensor '" + t.name + "': row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                     tr.name + " block size " + std::to_string(tr.block_size));
    uint64_t blocks = n_el / static_cast<uint64_t>(tr.block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / tr.type_size)
      return p.Error("tensor '" + t.name + "': size overflows");
    t.nbytes = blocks * tr.type_size;
    if (tensor_index_.count(t.name)) return p.Error("duplicate tensor '" + t.name + "'");
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > size_ && n_tensors > 0) return Status::DataLoss(path_ + ": data section starts past the end of the file");
  uint64_t data_size = size_ >= data_offset_ ? size_ - data_offset_ : 0;
  for (TensorInfo& t : tensors_) {
    if (t.offset % alignment_ != 0)
      return Status::DataLoss(path_ + ": tensor '" + t.name + "': offset " + std::to_string(t.offset) +
                              " is not aligned to " + std::to_string(alignment_));
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      return Status::DataLoss(path_ + ": tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", +" +
                              std::to_string(t.nbytes) + ") exceeds the data section of " + std::to_string(data_size) +
                              " bytes (file truncated?)");
    t.data = map_ + data_offset_ + t.offset;
  }
  return Status::Ok();
}

const Value* File::Find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorInfo* File::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
Status KeyError(const std::string& path, std::string_view key, const Value* v, const char* want) {
  if (!v) return Status::NotFound(path + ": key '" + std::string(key) + "' not found");
  return Status::InvalidArgument(path + ": key '" + std::string(key) + "' has type " + ValueTypeName(v->type) +
                                 ", expected " + want);
}
}  // namespace

StatusOr<int64_t> File::GetInt(std::string_view key) const {
  const Value* v = Find(key);
  if (!v || !v->is_integer()) return KeyError(path_, key, v, "an integer");
  return v->type == ValueType::kUint64 && v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? StatusOr<int64_t>(Status::OutOfRange(path_ + ": key '" + std::string(key) + "' is too large"))
             : StatusOr<int64_t>(v->i);
}

StatusOr<double> File::GetFloat(std::string_view key) const {
  const Value* v = Find(key);
  if (v && v->is_float()) return v->f;
  if (v && v->is_integer()) return static_cast<double>(v->i);
  return KeyError(path_, key, v, "a number");
}

StatusOr<bool> File::GetBool(std::string_view key) const {
  const Value* v = Find(key);
  if (!v || v->type != ValueType::kBool) return KeyError(path_, key, v, "a bool");
  return v->b;
}

StatusOr<std::string> File::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (!v || v->type != ValueType::kString) return KeyError(path_, key, v, "a string");
  return v->str;
}

StatusOr<const Value*> File::GetArray(std::string_view key) const {
  const Value* v = Find(key);
  if (!v || v->type != ValueType::kArray) return KeyError(path_, key, v, "an array");
  return v;
}

int64_t File::GetIntOr(std::string_view key, int64_t def) const {
  auto r = GetInt(key);
  return r.ok() ? *r : def;
}
double File::GetFloatOr(std::string_view key, double def) const {
  auto r = GetFloat(key);
  return r.ok() ? *r : def;
}
bool File::GetBoolOr(std::string_view key, bool def) const {
  auto r = GetBool(key);
  return r.ok() ? *r : def;
}
std::string File::GetStringOr(std::string_view key, std::string def) const {
  auto r = GetString(key);
  return r.ok() ? *r : def;
}

}  // namespace r1::gguf
