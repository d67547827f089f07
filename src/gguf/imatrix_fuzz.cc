// libFuzzer target: importance matrices (GGUF and legacy .dat) of arbitrary
// bytes must never crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "gguf/imatrix.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("imatrix_fuzz", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  auto m = r1::gguf::ReadImatrix("/proc/self/fd/" + std::to_string(fd));
  if (m.ok()) {
    for (const auto& [name, e] : m->entries) {
      volatile float sink = 0;
      for (float v : e.Mean()) sink = sink + v;
      (void)sink;
    }
  }
  return 0;
}
