// libFuzzer: tokenizer.json loading must return a Status, never crash, on
// any input; a loaded tokenizer must encode a fixed sample. The input is
// split at the first NUL into tokenizer.json and tokenizer_config.json.
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view json = in, config;
  if (const size_t nul = in.find('\0'); nul != std::string_view::npos) {
    json = in.substr(0, nul);
    config = in.substr(nul + 1);
  }
  auto tok = r1::Tokenizer::FromJson(json, config);
  if (tok.ok()) {
    const auto ids = (*tok)->Encode("Hello, world! 123 中文 <|x|> \xFF", true);
    (void)(*tok)->Decode(ids);
    (void)(*tok)->FindToken("<|x|>");
    (void)(*tok)->Describe();
  }
  return 0;
}
