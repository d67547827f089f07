// Fuzzes the grammar front ends and the matcher: the input's first byte picks
// GBNF, JSON Schema or a regex; whatever compiles is then driven with the
// rest of the input as bytes, and masks over a small vocabulary are taken.
// Errors are fine; crashes, hangs and sanitizer reports are not.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1::grammar;
  if (size < 1 || size > 8192) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string gbnf;
  switch (data[0] % 3) {
    case 0:
      gbnf = text;
      break;
    case 1: {
      const auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) return 0;
      auto g = JsonSchemaToGbnf(j);
      if (!g.ok()) return 0;
      gbnf = g.value();
      break;
    }
    default: {
      auto g = RegexToGbnf(text);
      if (!g.ok()) return 0;
      gbnf = g.value();
      break;
    }
  }
  auto g = ParseGbnf(gbnf);
  if (!g.ok()) return 0;
  static const auto trie = [] {
    Vocab v;
    for (const char* t : {"{", "}", "\"", ":", ",", " ", "a", "1", "\"}", "\",", "ab", "\xC3", "\xA9", "<c>", ""}) {
      v.bytes.push_back(t);
      v.control.push_back(false);
    }
    v.control[13] = v.control[14] = true;
    v.eos = {14};
    return std::make_shared<TokenTrie>(v);
  }();
  Matcher m(g.value(), trie);
  int32_t s = m.Start();
  for (size_t i = 0; i < text.size() && i < 256 && s >= 0; ++i) {
    auto mask = m.Mask(s);
    s = m.Advance(s, std::string_view(&text[i], 1));
    if (m.n_states() > 20000) break;  // a bound on the work per input
  }
  return 0;
}
