// Running the r1 tool as a user does, from tests: a shell command's exit code
// and output.
#pragma once

#include <string>

namespace r1::testing {

struct ShellResult {
  int code;         // the exit status; -1 when the command did not exit normally
  std::string out;  // stdout, with stderr merged unless quiet_stderr
};

ShellResult RunShell(const std::string& cmd, bool quiet_stderr = false);

}  // namespace r1::testing
