// A read-only memory map of a whole regular file: the one way the format
// readers (GGUF, safetensors) open a file. Weights are never copied; the
// page cache backs them, so a model may exceed RAM.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "r1/status.h"

namespace r1 {

class MappedFile {
 public:
  // Maps `path`. NotFound when it cannot be opened; InvalidArgument when it is
  // not a regular file; DataLoss when it is shorter than `min_size` bytes
  // (`what` names what those bytes are: "a GGUF header").
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path, uint64_t min_size, const char* what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace r1
