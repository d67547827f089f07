// Safetensors reader: Hugging Face's weight format, and the checkpoint
// directories it comes in.
//
// File layout (https://github.com/huggingface/safetensors):
//
//   uint64 N                little-endian header length
//   N bytes                 a JSON object:
//                             "NAME": {"dtype": "BF16", "shape": [out, in],
//                                      "data_offsets": [begin, end]}, ...
//                             "__metadata__": {"format": "pt", ...} (strings)
//   data                    tensor bytes; offsets are relative to here
//
// Shapes are row-major, outermost first (PyTorch's order: a Linear weight is
// [out, in]), the reverse of GGUF's ne. As in the format's reference reader,
// the tensors must tile the data exactly: sorted by offset, each begins where
// the previous ended and the last ends at the end of the file; end − begin
// must be the shape's element count times the dtype's size.
//
// A directory holds config.json and either model.safetensors or shards
// listed by model.safetensors.index.json ({"weight_map": {NAME: SHARD}}).
//
// Files are mmapped and never copied. Every length and offset is checked
// before use; errors name the file (shard), the tensor and the field.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "r1/status.h"

namespace r1 {
class MappedFile;
}  // namespace r1

namespace r1::safetensors {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit

enum class Dtype { kBool, kU8, kI8, kU16, kI16, kF16, kBF16, kU32, kI32, kF32, kU64, kI64, kF64, kF8E4M3, kF8E5M2 };
const char* DtypeName(Dtype d);  // "BF16", "F8_E4M3", ...
size_t DtypeSize(Dtype d);       // bytes per element

struct Tensor {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;  // outermost first
  uint64_t begin = 0, end = 0;  // relative to the data section
  const uint8_t* data = nullptr;  // into the mmap
  uint64_t nbytes() const { return end - begin; }
  int64_t n_elements() const;
  std::string ShapeString() const;  // "[1536, 8960]"
};

class File {
 public:
  // Opens and validates `path`. Never crashes on a bad file.
  static StatusOr<std::unique_ptr<File>> Open(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }  // in header order
  const Tensor* Find(std::string_view name) const;

 private:
  File() = default;
  Status Parse();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  const uint8_t* map_ = nullptr;  // file_'s bytes
  uint64_t size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// A Hugging Face checkpoint directory's weights: one file or its shards.
class Checkpoint {
 public:
  // Opens `dir`/model.safetensors, or the shards `dir`/model.safetensors.index.json
  // lists. Every tensor the index names must be in its shard, and every
  // tensor of a shard in the index.
  static StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::vector<std::unique_ptr<File>>& shards() const { return shards_; }
  const Tensor* Find(std::string_view name) const;
  // The shard holding `name` (for errors); null if absent.
  const File* ShardOf(std::string_view name) const;
  size_t n_tensors() const { return index_.size(); }
  uint64_t total_bytes() const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<File>> shards_;
  std::unordered_map<std::string, std::pair<size_t, const Tensor*>> index_;  // name -> shard, tensor
};

// float8 e4m3fn (DeepSeek's FP8): exact decoding, and encoding with round to
// nearest even, saturating at ±448.
float E4M3ToFloat(uint8_t b);
uint8_t FloatToE4M3(float x);

}  // namespace r1::safetensors
