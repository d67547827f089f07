#include "util/shell.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace r1::testing {

ShellResult RunShell(const std::string& cmd, bool quiet_stderr) {
  ShellResult r{0, ""};
  FILE* p = popen(("(" + cmd + ")" + (quiet_stderr ? " 2>/dev/null" : " 2>&1")).c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace r1::testing
