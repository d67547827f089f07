#include "models/synthetic/synthetic_vocab.h"

#include <algorithm>
#include <map>

namespace r1 {
namespace {

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to
// U+0100 upwards, so every byte sequence is a printable string.
std::string ByteToUnicode(uint8_t b) {
  static const std::vector<std::string> table = [] {
    std::vector<int> cps(256, -1);
    int next = 256;
    for (int c = 0; c < 256; ++c) {
      bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
      cps[c] = printable ? c : next++;
    }
    std::vector<std::string> t(256);
    for (int c = 0; c < 256; ++c) {
      int cp = cps[c];
      std::string s;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
      t[c] = s;
    }
    return t;
  }();
  return table[b];
}

constexpr const char* kTrainingText =
    "The quick brown fox jumps over the lazy dog. Reasoning models think before they answer: "
    "they write out the steps, check them, and then give the answer. The answer is the result of "
    "the thinking. Let me think about this step by step. First, we need to find the value. Then we "
    "check that the value is correct. Hello, world! How are you today? I am fine, thank you. "
    "def main():\n    print(\"hello\")\n    return 0\n1 + 1 = 2, 2 + 2 = 4, 10 * 10 = 100.";

// R1's prompt format, as the R1-Distill template renders it (simplified: no tools).
constexpr const char* kChatTemplate =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}";

}  // namespace

SyntheticVocab BuildSyntheticVocab(int64_t n_vocab) {
  SyntheticVocab v;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(ByteToUnicode(static_cast<uint8_t>(b)));
    v.types.push_back(1);
  }
  const std::vector<std::string> specials = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                             "<｜Assistant｜>", "<think>", "</think>"};
  const int64_t n_merges = std::max<int64_t>(0, std::min<int64_t>(n_vocab - 256 - 6, 400));

  // Learn merges on the byte-level words of the text (split before spaces).
  std::vector<std::vector<std::string>> words;
  std::string text = kTrainingText;
  size_t start = 0;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ' || text[i] == '\n') {
      std::vector<std::string> w;
      for (size_t j = start; j < i; ++j) w.push_back(ByteToUnicode(static_cast<uint8_t>(text[j])));
      words.push_back(w);
      start = i;
    }
  }
  for (int64_t m = 0; m < n_merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) ++counts[{w[i], w[i + 1]}];
    if (counts.empty()) break;
    auto best = std::max_element(counts.begin(), counts.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (best->second < 2) break;
    auto [a, b] = best->first;
    v.merges.push_back(a + " " + b);
    v.tokens.push_back(a + b);
    v.types.push_back(1);
    for (auto& w : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          out.push_back(a + b);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      w = std::move(out);
    }
  }
  v.bos = static_cast<int32_t>(v.tokens.size());
  v.eos = v.bos + 1;
  for (const auto& s : specials) {
    v.tokens.push_back(s);
    v.types.push_back(3);
  }
  // <think> and </think> are ordinary (user-defined) tokens in R1's vocab.
  v.types[v.types.size() - 1] = v.types[v.types.size() - 2] = 4;
  while (static_cast<int64_t>(v.tokens.size()) < n_vocab) {
    v.tokens.push_back("<｜unused" + std::to_string(v.tokens.size()) + "｜>");
    v.types.push_back(5);
  }
  v.tokens.resize(static_cast<size_t>(n_vocab));
  v.types.resize(static_cast<size_t>(n_vocab));
  v.chat_template = kChatTemplate;
  return v;
}

}  // namespace r1
