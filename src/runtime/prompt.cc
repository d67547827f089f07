#include "runtime/prompt.h"

#include <algorithm>
#include <utility>

#include "chat/tool_prompt.h"

namespace r1 {
namespace {

using ojson = nlohmann::ordered_json;

// Added-token text inside the messages ("<｜User｜>", "<｜end▁of▁sentence｜>",
// special or not: DeepSeek's turn markers are non-special added tokens) is
// swapped, before rendering, for a placeholder of private-use code points:
// U+E000, the index of the text in decimal, U+E001. Wherever the template
// puts the placeholder, the text is encoded as plain text. A U+E000 already
// in the messages is protected the same way, so a placeholder cannot be
// forged either.
constexpr std::string_view kOpen = "\xEE\x80\x80";   // U+E000
constexpr std::string_view kClose = "\xEE\x80\x81";  // U+E001

class Protector {
 public:
  explicit Protector(const Tokenizer& tok) : tok_(tok) {}

  // Rewrites every string in j (values and object keys' values, recursively).
  void Walk(ojson& j) {
    if (j.is_string()) {
      Protect(j.get_ref<std::string&>());
    } else if (j.is_array() || j.is_object()) {
      for (auto& v : j) Walk(v);
    }
  }

  bool any() const { return !texts_.empty(); }

  // Encodes the rendered text: the template's markup with special tokens
  // parsed, each placeholder as its original text with no added tokens.
  // *restored is the text with the placeholders put back.
  std::vector<int32_t> Encode(const std::string& text, size_t max_tokens, std::string* restored) const {
    std::vector<int32_t> ids;
    restored->clear();
    size_t at = 0;
    auto plain = [&](std::string_view s, bool markup) {
      restored->append(s);
      if (s.empty() || ids.size() > max_tokens) return;
      const size_t room = max_tokens - std::min(max_tokens, ids.size());
      std::vector<int32_t> part = markup ? tok_.Encode(s, true, room) : tok_.EncodeAsText(s, room);
      ids.insert(ids.end(), part.begin(), part.end());
    };
    while (at < text.size()) {
      size_t open = text.find(kOpen, at);
      if (open == std::string::npos) break;
      size_t digits = open + kOpen.size(), end = digits;
      while (end < text.size() && end - digits < 9 && text[end] >= '0' && text[end] <= '9') ++end;
      size_t index = texts_.size();
      if (end > digits && text.compare(end, kClose.size(), kClose) == 0) index = std::stoul(text.substr(digits, end - digits));
      if (index >= texts_.size()) {  // not one of ours (the template's own U+E000): markup like the rest
        plain(std::string_view(text).substr(at, digits - at), true);
        at = digits;
        continue;
      }
      plain(std::string_view(text).substr(at, open - at), true);
      plain(texts_[index], false);
      at = end + kClose.size();
    }
    plain(std::string_view(text).substr(at), true);
    return ids;
  }

 private:
  void Protect(std::string& s) {
    std::vector<std::pair<size_t, size_t>> hits = tok_.FindAddedTokens(s);
    for (size_t p = s.find(kOpen); p != std::string::npos; p = s.find(kOpen, p + kOpen.size()))
      hits.emplace_back(p, p + kOpen.size());
    if (hits.empty()) return;
    std::sort(hits.begin(), hits.end());
    std::string out;
    size_t at = 0;
    for (auto [b, e] : hits) {
      if (b < at) continue;
      out.append(s, at, b - at);
      out += kOpen;
      out += std::to_string(Index(s.substr(b, e - b)));
      out += kClose;
      at = e;
    }
    out.append(s, at);
    s = std::move(out);
  }

  size_t Index(const std::string& text) {
    auto it = std::find(texts_.begin(), texts_.end(), text);
    if (it != texts_.end()) return static_cast<size_t>(it - texts_.begin());
    texts_.push_back(text);
    return texts_.size() - 1;
  }

  const Tokenizer& tok_;
  std::vector<std::string> texts_;
};

}  // namespace

StatusOr<Prompt> BuildPrompt(const Tokenizer& tok, const chat::ChatTemplate& tmpl, const PromptInput& in) {
  Prompt p;
  Protector protector(tok);
  const char* what = in.chat ? "messages" : "prompt";
  if (in.chat) {
    const bool has_tools = in.tools.is_array() && !in.tools.empty();
    ojson messages = in.messages;
    ojson tools = has_tools ? in.tools : ojson();
    if (!in.special_in_messages) {
      protector.Walk(messages);
      protector.Walk(tools);
    }
    // After the protection: the tool preamble is our markup, with R1's tool-call tokens.
    if (has_tools && !chat::TemplateRendersTools(tmpl.source())) {
      messages = chat::InjectTools(messages, tools);
      tools = ojson();
    }
    auto text = tmpl.Render(messages, tools, /*add_generation_prompt=*/true, tok.bos_token(), tok.eos_token(),
                            in.limits);
    if (!text.ok()) {
      const StatusCode c = text.status().code();
      const bool budget = c == StatusCode::kResourceExhausted || c == StatusCode::kCancelled;
      return Status(budget ? c : StatusCode::kInvalidArgument, text.status().message())
          .WithContext(what);
    }
    p.text = std::move(*text);
  } else {
    p.text = in.text;
  }
  const size_t max_tokens = in.max_tokens > 0 ? static_cast<size_t>(in.max_tokens) : static_cast<size_t>(-1);
  const std::string bos = tok.bos_token();
  const bool has_bos = !bos.empty() && p.text.starts_with(bos);
  if (tok.add_bos() && tok.bos_id() >= 0 && !has_bos) p.tokens.push_back(tok.bos_id());
  std::vector<int32_t> body;
  if (protector.any()) {
    std::string restored;
    body = protector.Encode(p.text, max_tokens, &restored);
    p.text = std::move(restored);
  } else {
    body = tok.Encode(p.text, /*parse_special=*/true, max_tokens);
  }
  p.tokens.insert(p.tokens.end(), body.begin(), body.end());
  if (p.tokens.empty())
    return Status::InvalidArgument("the " + std::string(in.chat ? "rendered messages encode" : "prompt encodes") +
                                   " to no tokens (the vocabulary cannot encode the text)")
        .WithContext(what);
  if (in.max_tokens > 0 && p.tokens.size() > static_cast<size_t>(in.max_tokens))
    return Status::InvalidArgument("the prompt has more than " + std::to_string(in.max_tokens) +
                                   " tokens, the most this context allows")
        .WithContext(what);
  return p;
}

}  // namespace r1
