// libFuzzer: the Hub's listing parser, the reference parser and file selection
// on hostile input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hub/hub.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto tree = r1::hub::ParseTree(s);
  size_t nl = s.find('\n');
  auto ref = r1::hub::ParseRef(s.substr(0, nl == std::string::npos ? std::min<size_t>(s.size(), 200) : nl));
  if (tree.ok() && ref.ok()) {
    auto sel = r1::hub::SelectFiles(*tree, *ref);
    (void)sel;
    (void)r1::hub::QuantTags(*tree);
  }
  std::string prefix;
  int no, count;
  (void)r1::hub::ParseSplitName(s, &prefix, &no, &count);
  return 0;
}
