#include "gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace r1 {

StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path, uint64_t min_size, const char* what) {
  std::unique_ptr<MappedFile> f(new MappedFile());
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) return Status::NotFound(path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(f->fd_, &st) != 0) return Status::Internal(path + ": fstat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ < min_size)
    return Status::DataLoss(path + ": file is " + std::to_string(f->size_) + " bytes, too small for " + what);
  void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_SHARED, f->fd_, 0);
  if (m == MAP_FAILED) return Status::Internal(path + ": mmap: " + std::strerror(errno));
  f->data_ = static_cast<const uint8_t*>(m);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace r1
