// Tests whose oracle or input is missing (numpy, node, the npm packages,
// ../shared, R1_BIN) skip on a developer's machine and say what was skipped;
// under CI (the CI environment variable set, as scripts/test.sh does) the
// same condition fails the test, so a green run always ran every check.
// Skips that are not about a missing oracle (a CPU without AVX2) stay plain
// GTEST_SKIPs.
//
//   if (!HaveNumpy()) R1_SKIP_OR_FAIL("python3 with numpy not available");
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace r1::testing {

inline bool UnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "0" && std::string(ci) != "false";
}

// Under CI: records a failure and returns true. Otherwise prints the skip.
inline bool FailsUnderCi(const std::string& why) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "?";
  if (UnderCi()) {
    ADD_FAILURE() << "CI is set, so a missing oracle fails the test: " << why;
    return true;
  }
  std::fprintf(stderr, "r1 tests: SKIPPED %s: %s (under CI this fails)\n", name.c_str(), why.c_str());
  return false;
}

}  // namespace r1::testing

#define R1_SKIP_OR_FAIL(why)                       \
  do {                                             \
    if (::r1::testing::FailsUnderCi(why)) return;  \
    GTEST_SKIP() << (why);                         \
  } while (0)
