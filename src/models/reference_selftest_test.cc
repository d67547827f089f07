// The float64 numpy reference (tests/ref) checks itself: its dequantizers
// against hand-built blocks and against ggml's own values for blocks made by
// ggml's quantizer (src/kernels/testdata/quant), its GGUF reader, and its
// forwards against independent loop-based transliterations of the published
// model definitions. The model tests trust ReferenceLogits only because this
// passes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "util/model_util.h"
#include "util/skip.h"

namespace r1 {
namespace {

TEST(NumpyReference, SelfTestPasses) {
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  const std::string cmd = std::string(R1_PYTHON) + " " + R1_SOURCE_DIR + "/tests/ref/selftest.py > selftest.log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "see selftest.log in the build directory";
}

}  // namespace
}  // namespace r1
