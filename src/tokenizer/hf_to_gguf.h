// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) as GGUF
// metadata, the way llama.cpp's converter writes it: tokenizer.ggml.model
// "gpt2", tokens (byte-level strings as in the vocabulary, added tokens as
// their text), token_type (1 normal, 3 control = special added, 4 user
// defined = other added, 5 unused = padding up to the model's vocabulary
// size, named "[PAD<id>]"), merges "a b", bos/eos ids, add_bos_token and the
// chat template.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "r1/status.h"

namespace r1 {

struct HfTokenizerFiles {
  nlohmann::json tokenizer;  // tokenizer.json
  nlohmann::json config;     // tokenizer_config.json
};

// Reads DIR/tokenizer.json and DIR/tokenizer_config.json; errors name the file.
StatusOr<HfTokenizerFiles> ReadHfTokenizer(const std::string& dir);

// The token text of a config entry ("<s>" or {"content": "<s>", ...}); "" if none.
std::string HfTokenText(const nlohmann::json& entry);

// Sets the tokenizer.* keys. `pre` is the GGUF pre-tokenizer name
// ("deepseek-v3", "deepseek-r1-qwen", ...); `n_vocab` the model's vocabulary
// size (>= the tokenizer's; the rest is padding).
Status HfTokenizerToGguf(const HfTokenizerFiles& files, const std::string& pre, int64_t n_vocab, gguf::Writer* w);

}  // namespace r1
