// GGUF reader and writer.
//
// File layout (GGUF v2/v3, little-endian; v1 used 32-bit counts and is not
// supported):
//
//   uint32 magic            "GGUF" = 0x46554747
//   uint32 version          2 or 3
//   uint64 n_tensors
//   uint64 n_kv
//   n_kv × { string key; uint32 value_type; value }
//       string  = uint64 length + bytes (no terminator)
//       array   = uint32 elem_type + uint64 count + count × value
//   n_tensors × { string name; uint32 n_dims; n_dims × uint64 ne;
//                 uint32 ggml_type; uint64 offset }
//   padding to `general.alignment` (default 32)
//   tensor data; each tensor's offset is relative to the start of this section
//   and a multiple of the alignment.
//
// Dimension order: ne[0] is the innermost (contiguous) dimension. A PyTorch
// Linear weight of shape (out, in) is stored with ne = {in, out}.
//
// Split files (llama.cpp's gguf-split): NAME-00001-of-0000N.gguf ... each a
// GGUF of its own with split.no (0-based), split.count and
// split.tensors.count (the set's total); the first part holds the metadata.
// Opening the first part opens the others beside it and maps each one
// separately: tensors() then lists the whole set.
//
// The reader mmaps the file and never copies tensor data. Every count, length
// and offset is checked against the file size before it is used; a bad file
// yields a DataLoss/InvalidArgument Status naming the key, tensor or offset.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/ggml_types.h"
#include "r1/status.h"

namespace r1 {
class MappedFile;
}  // namespace r1

namespace r1::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian
inline constexpr uint64_t kDefaultAlignment = 32;

enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
  kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11,
  kFloat64 = 12,
};
const char* ValueTypeName(ValueType t);

// A metadata value. Scalars live in one field chosen by `type`; arrays keep
// their elements in a typed vector chosen by `elem_type`.
struct Value {
  ValueType type = ValueType::kUint32;
  // Scalars. Integers of every width are widened: signed into i, unsigned into
  // u; floats into f; bools into b.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string str;
  // Arrays (type == kArray).
  ValueType elem_type = ValueType::kUint8;
  std::vector<int64_t> ints;        // any integer or bool element type
  std::vector<double> floats;       // kFloat32 / kFloat64 elements
  std::vector<std::string> strs;    // kString elements
  std::vector<Value> arrays;        // nested arrays (rare)

  size_t array_size() const;
  bool is_integer() const;
  bool is_float() const;
  // A one-line rendering; arrays are summarised ("[151936 × string] ...").
  std::string Summary(size_t max_items = 4) const;

  static Value U32(uint32_t v);
  static Value I32(int32_t v);
  static Value U64(uint64_t v);
  static Value F32(float v);
  static Value Bool(bool v);
  static Value String(std::string v);
  static Value StringArray(std::vector<std::string> v);
  static Value I32Array(std::vector<int32_t> v);
  static Value F32Array(std::vector<float> v);
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;   // ne[0] innermost
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // points into the mmap
  int part = 0;                   // split files: the 0-based part holding it

  int64_t n_elements() const;
  int64_t dim(size_t i) const { return i < ne.size() ? ne[i] : 1; }
  std::string ShapeString() const;  // "[1536, 151936]"
};

class File {
 public:
  // Opens and validates `path`, and with it the other parts of a split
  // file (`path` must be the first). Never crashes on a bad file.
  static StatusOr<std::unique_ptr<File>> Open(const std::string& path);
  // The name of part `no` (0-based) of `count`: PREFIX-00001-of-00003.gguf.
  static std::string SplitPath(const std::string& prefix, int no, int count);
  // A file assembled in memory rather than read: a Hugging Face directory
  // seen as GGUF (runtime/hf_model.h). The tensors' data pointers must stay
  // valid while `keep` lives; the file holds it. Names must be unique.
  static StatusOr<std::unique_ptr<File>> Assemble(std::string path, std::vector<std::pair<std::string, Value>> kv,
                                                  std::vector<TensorInfo> tensors, std::shared_ptr<void> keep);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return total_size_; }  // all parts together
  // Split files: every part's path, the first one's included (one entry
  // for a file that is not split), and each part's size.
  const std::vector<std::string>& part_paths() const { return part_paths_; }
  const std::vector<uint64_t>& part_sizes() const { return part_sizes_; }
  uint64_t data_offset() const { return data_offset_; }

  // Metadata, in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* Find(std::string_view key) const;

  // Typed getters. Errors name the file and key ("model.gguf: key
  // 'qwen2.block_count' not found", "... has type string, expected integer").
  StatusOr<int64_t> GetInt(std::string_view key) const;
  StatusOr<double> GetFloat(std::string_view key) const;  // accepts integers too
  StatusOr<bool> GetBool(std::string_view key) const;
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<const Value*> GetArray(std::string_view key) const;
  int64_t GetIntOr(std::string_view key, int64_t def) const;
  double GetFloatOr(std::string_view key, double def) const;
  bool GetBoolOr(std::string_view key, bool def) const;
  std::string GetStringOr(std::string_view key, std::string def) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;

 private:
  File() = default;
  static StatusOr<std::unique_ptr<File>> OpenOne(const std::string& path);
  Status Parse();
  Status OpenParts();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  const uint8_t* map_ = nullptr;  // file_'s bytes
  uint64_t size_ = 0;        // this part's
  uint64_t total_size_ = 0;  // all parts'
  std::vector<std::unique_ptr<File>> parts_;  // split files: parts 2..N (they own their maps)
  std::vector<std::string> part_paths_;
  std::vector<uint64_t> part_sizes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::shared_ptr<void> keep_;  // Assemble's owner of the tensors' bytes
};

// Builds a GGUF file in memory and writes it. Used by the test-model
// generator, and later by quantize/convert.
class Writer {
 public:
  void Set(std::string key, Value v);  // replaces an existing key
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  // Copies `bytes` (must be GgmlRowSize(type, ne[0]) × rows).
  Status AddTensor(std::string name, std::vector<int64_t> ne, GgmlType type,
                   const void* bytes, size_t nbytes);
  void set_alignment(uint64_t a) { alignment_ = a; }
  void set_version(uint32_t v) { version_ = v; }
  // Streaming: declares a tensor (name, shape, type) whose bytes are not held
  // here; Write's `fill` produces them while the file is written.
  Status DeclareTensor(std::string name, std::vector<int64_t> ne, GgmlType type);
  // Fills the `nbytes` bytes of tensor number `index` (in the order tensors
  // were added or declared) into `out`; called once per declared tensor, in
  // order, so a generator holds one tensor at a time.
  using FillFn = std::function<Status(size_t index, uint8_t* out, size_t nbytes)>;
  // Writes atomically: a temporary file renamed over `path`. `fill` is needed
  // when tensors were declared (an error otherwise).
  Status Write(const std::string& path, const FillFn& fill = nullptr) const;
  // The same as a split file of `n_parts` parts (File::SplitPath(prefix,
  // k, n_parts)), as llama.cpp's gguf-split writes it: contiguous runs of
  // tensors of about equal bytes; the metadata in the first part, the split
  // keys in every part.
  Status WriteSplit(const std::string& prefix, int n_parts, const FillFn& fill = nullptr) const;

 private:
  Status WritePart(const std::string& path, const FillFn& fill, size_t begin, size_t end,
                   const std::vector<std::pair<std::string, Value>>& extra, bool metadata) const;
  Status WriteTo(const std::string& path, const FillFn& fill, size_t begin, size_t end,
                 const std::vector<std::pair<std::string, Value>>& extra, bool metadata) const;
  struct PendingTensor {
    std::string name;
    std::vector<int64_t> ne;
    GgmlType type;
    size_t nbytes = 0;
    bool streamed = false;       // bytes come from Write's fill
    std::vector<uint8_t> bytes;  // AddTensor's copy
  };
  static StatusOr<size_t> CheckedSize(const std::string& name, const std::vector<int64_t>& ne, GgmlType type);
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<PendingTensor> tensors_;
  uint64_t alignment_ = kDefaultAlignment;
  uint32_t version_ = 3;
};

}  // namespace r1::gguf
