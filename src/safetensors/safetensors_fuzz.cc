// libFuzzer target: safetensors parsing of arbitrary bytes must never crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "safetensors/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("safetensors_fuzz", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  auto f = r1::safetensors::File::Open("/proc/self/fd/" + std::to_string(fd));
  if (f.ok()) {
    for (const auto& t : (*f)->tensors()) {
      volatile uint8_t sink = t.nbytes() ? t.data[t.nbytes() - 1] : 0;
      (void)sink;
      (void)t.n_elements();
    }
  }
  return 0;
}
