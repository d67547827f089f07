// Safetensors reader: mmap + bounds-checked header parse. See safetensors.h.
#include <cmath>
#include "safetensors/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "gguf/mapped_file.h"

namespace r1::safetensors {
namespace {

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {Dtype::kBool, "BOOL", 1}, {Dtype::kU8, "U8", 1},     {Dtype::kI8, "I8", 1},
    {Dtype::kU16, "U16", 2},   {Dtype::kI16, "I16", 2},   {Dtype::kF16, "F16", 2},
    {Dtype::kBF16, "BF16", 2}, {Dtype::kU32, "U32", 4},   {Dtype::kI32, "I32", 4},
    {Dtype::kF32, "F32", 4},   {Dtype::kU64, "U64", 8},   {Dtype::kI64, "I64", 8},
    {Dtype::kF64, "F64", 8},   {Dtype::kF8E4M3, "F8_E4M3", 1}, {Dtype::kF8E5M2, "F8_E5M2", 1},
};

}  // namespace

const char* DtypeName(Dtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.name;
  return "?";
}

size_t DtypeSize(Dtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.size;
  return 0;
}

int64_t Tensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string Tensor::ShapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

StatusOr<std::unique_ptr<File>> File::Open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  auto m = MappedFile::Open(path, 8, "a safetensors header");
  if (!m.ok()) return m.status();
  f->file_ = std::move(*m);
  f->map_ = f->file_->data();
  f->size_ = f->file_->size();
  R1_RETURN_IF_ERROR(f->Parse());
  return f;
}

File::~File() = default;

Status File::Parse() {
  uint64_t n;
  std::memcpy(&n, map_, 8);
  if (n > kMaxHeaderBytes)
    return Status::DataLoss(path_ + ": header length " + std::to_string(n) + " exceeds the limit of " +
                            std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file?)");
  if (n > size_ - 8)
    return Status::DataLoss(path_ + ": header length " + std::to_string(n) + " exceeds the file of " +
                            std::to_string(size_) + " bytes (truncated?)");
  const std::string_view text(reinterpret_cast<const char*>(map_ + 8), n);
  if (text.empty() || text[0] != '{') return Status::DataLoss(path_ + ": the header is not a JSON object");
  const nlohmann::json h = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!h.is_object()) return Status::DataLoss(path_ + ": the header is not valid JSON");
  const uint64_t data_size = size_ - 8 - n;
  const uint8_t* data = map_ + 8 + n;
  auto bad = [&](const std::string& name, const std::string& msg) {
    return Status::DataLoss(path_ + ": tensor '" + name + "': " + msg);
  };
  for (const auto& [name, v] : h.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) return Status::DataLoss(path_ + ": '__metadata__' must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) return Status::DataLoss(path_ + ": '__metadata__." + k + "' must be a string");
        metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) return bad(name, "must be an object with dtype, shape and data_offsets");
    Tensor t;
    t.name = name;
    const auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) return bad(name, "field 'dtype' is missing or not a string");
    const auto* info = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                    [&](const DtypeInfo& i) { return *dt == i.name; });
    if (info == std::end(kDtypes)) return bad(name, "field 'dtype': unknown dtype " + dt->dump());
    t.dtype = info->dtype;
    const auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array() || sh->size() > 8) return bad(name, "field 'shape' must be an array of up to 8 sizes");
    uint64_t count = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) return bad(name, "field 'shape' = " + sh->dump() + ": sizes must be non-negative integers");
      const uint64_t x = d.get<uint64_t>();
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (x != 0 && count > data_size / x + 1))
        return bad(name, "field 'shape' = " + sh->dump() + " exceeds the file");
      count *= x;
      t.shape.push_back(static_cast<int64_t>(x));
    }
    const auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      return bad(name, "field 'data_offsets' must be [begin, end]");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
      return bad(name, "field 'data_offsets' = " + off->dump() + " lies outside the data section of " +
                           std::to_string(data_size) + " bytes (truncated?)");
    if (count > std::numeric_limits<uint64_t>::max() / info->size || count * info->size != t.nbytes())
      return bad(name, "dtype " + std::string(info->name) + " and shape " + t.ShapeString() + " need " +
                           std::to_string(count) + " x " + std::to_string(info->size) + " bytes, but data_offsets span " +
                           std::to_string(t.nbytes()));
    t.data = data + t.begin;
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }
  // The tensors tile the data section: no overlap, no gap, nothing after.
  std::vector<const Tensor*> order;
  for (const Tensor& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const Tensor* a, const Tensor* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  const Tensor* prev = nullptr;
  for (const Tensor* t : order) {
    if (t->begin < at)
      return bad(t->name, "data [" + std::to_string(t->begin) + ", " + std::to_string(t->end) + ") overlaps tensor '" +
                              prev->name + "'");
    if (t->begin > at)
      return bad(t->name, "data starts at " + std::to_string(t->begin) + ", leaving a gap after " +
                              std::to_string(at));
    at = t->end;
    prev = t;
  }
  if (at != data_size)
    return Status::DataLoss(path_ + ": the tensors end at byte " + std::to_string(at) + " of a data section of " +
                            std::to_string(data_size) + " bytes");
  return Status::Ok();
}

const Tensor* File::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  auto c = std::make_unique<Checkpoint>();
  c->dir_ = dir;
  const std::string index_path = dir + "/model.safetensors.index.json";
  auto index = MappedFile::Open(index_path, 2, "a JSON index");
  if (!index.ok() && index.status().code() == StatusCode::kNotFound) {
    auto f = File::Open(dir + "/model.safetensors");
    if (!f.ok()) {
      if (f.status().code() == StatusCode::kNotFound)
        return Status::NotFound(dir + ": neither model.safetensors nor model.safetensors.index.json");
      return f.status();
    }
    for (const Tensor& t : (*f)->tensors()) c->index_[t.name] = {0, &t};
    c->shards_.push_back(std::move(*f));
    return c;
  }
  if (!index.ok()) return index.status();
  if ((*index)->size() > kMaxHeaderBytes)
    return Status::DataLoss(index_path + ": larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
  const std::string_view text(reinterpret_cast<const char*>((*index)->data()), (*index)->size());
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::DataLoss(index_path + ": not a JSON object");
  const auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object() || wm->empty())
    return Status::DataLoss(index_path + ": field 'weight_map' must be a non-empty object of tensor -> shard");
  std::map<std::string, size_t> shard_no;
  for (const auto& [name, shard] : wm->items()) {
    if (!shard.is_string()) return Status::DataLoss(index_path + ": weight_map['" + name + "'] must be a file name");
    const std::string s = shard.get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
      return Status::DataLoss(index_path + ": weight_map['" + name + "'] = \"" + s + "\" is not a file in " + dir);
    if (!shard_no.count(s)) {
      auto f = File::Open(dir + "/" + s);
      if (!f.ok()) {
        if (f.status().code() == StatusCode::kNotFound)
          return Status::NotFound(index_path + ": shard " + s + " (of tensor '" + name + "') is missing");
        return f.status();
      }
      shard_no[s] = c->shards_.size();
      c->shards_.push_back(std::move(*f));
    }
    const size_t k = shard_no[s];
    const Tensor* t = c->shards_[k]->Find(name);
    if (!t) return Status::DataLoss(dir + "/" + s + ": has no tensor '" + name + "' (model.safetensors.index.json puts it there)");
    c->index_[name] = {k, t};
  }
  for (const auto& f : c->shards_)
    for (const Tensor& t : f->tensors())
      if (!c->index_.count(t.name) || c->index_[t.name].second != &t)
        return Status::DataLoss(f->path() + ": tensor '" + t.name + "' is not in model.safetensors.index.json's weight_map" +
                                (c->index_.count(t.name) ? " for this shard" : ""));
  return c;
}

const Tensor* Checkpoint::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : it->second.second;
}

const File* Checkpoint::ShardOf(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : shards_[it->second.first].get();
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& f : shards_) n += f->file_size();
  return n;
}

uint8_t FloatToE4M3(float x) {
  if (std::isnan(x)) return 0x7f;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  float a = std::min(std::fabs(x), 448.0f);
  if (a < std::ldexp(1.0f, -6)) {  // subnormal: steps of 2^-9
    const int m = static_cast<int>(std::nearbyint(a / std::ldexp(1.0f, -9)));
    return static_cast<uint8_t>(sign | (m == 8 ? 0x08 : m));
  }
  int e = 0;
  const float frac = std::frexp(a, &e);  // a = frac · 2^e, frac in [0.5, 1)
  int exp = e - 1;                        // a = (2·frac) · 2^exp
  int m = static_cast<int>(std::nearbyint((2.0f * frac - 1.0f) * 8.0f));
  if (m == 8) m = 0, ++exp;
  return static_cast<uint8_t>(sign | ((exp + 7) << 3) | m);
}

float E4M3ToFloat(uint8_t b) {
  const float s = (b & 0x80) ? -1.0f : 1.0f;
  const int exp = (b >> 3) & 0xf, m = b & 7;
  if (exp == 0xf && m == 7) return NAN;
  if (exp == 0) return s * std::ldexp(static_cast<float>(m), -9);
  return s * std::ldexp(1.0f + static_cast<float>(m) / 8.0f, exp - 7);
}

}  // namespace r1::safetensors
