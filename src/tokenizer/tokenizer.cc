#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "tokenizer/tokenizer_impl.h"

namespace r1 {

using tok::Segment;

Status Tokenizer::Impl::Finish() {
  const auto n = static_cast<int64_t>(token_bytes.size());
  if (n == 0) return Status::InvalidArgument("tokenizer has an empty vocabulary");
  is_control.assign(token_bytes.size(), 0);
  for (const tok::AddedToken& t : added) {
    if (t.id < 0 || t.id >= n)
      return Status::InvalidArgument(
          fmt::format("added token '{}' has id {} outside the vocabulary [0, {})", t.content, t.id, n));
    token_bytes[t.id] = t.content;  // added tokens are spelled raw
    if (t.special) is_control[t.id] = 1;
    if (t.special && !t.content.empty()) special_texts.push_back(t.content);
    added_by_content.emplace(t.content, t.id);
  }
  for (int norm = 0; norm < 2; ++norm)
    for (int ps = 0; ps < 2; ++ps) matchers[norm][ps].Build(added, norm == 1, ps == 1);
  if (bos >= n || eos >= n || (eot && (*eot < 0 || *eot >= n)))
    return Status::InvalidArgument(fmt::format(
        "special token id out of range: bos={} eos={} eot={} n_vocab={}", bos, eos, eot.value_or(-1), n));
  if (!pre.has_byte_level())
    return Status::Unimplemented("only byte-level BPE tokenizers are supported (no ByteLevel pre-tokenizer)");
  return Status::Ok();
}

std::optional<int32_t> GuessEot(const Tokenizer::Impl& impl) {
  for (const char* text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|EOT|>",
                           "<｜end▁of▁sentence｜>"}) {
    auto it = impl.added_by_content.find(text);
    if (it != impl.added_by_content.end()) return it->second;
  }
  return std::nullopt;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {

void EncodePlain(const Tokenizer::Impl& m, std::string_view text, std::vector<std::string_view>* pieces,
                 std::deque<std::string>* arena, std::vector<int32_t>* ids, size_t max_tokens) {
  m.pre.Run(text, pieces, arena);
  for (std::string_view piece : *pieces) {
    if (ids->size() > max_tokens) return;
    m.bpe.EncodeWord(piece, ids);
  }
}

}  // namespace

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool parse_special, size_t max_tokens) const {
  const Impl& m = *impl_;
  std::string sanitized;
  if (!tok::IsValidUtf8(text)) {
    sanitized = tok::SanitizeUtf8(text);
    text = sanitized;
  }
  std::vector<int32_t> ids;
  ids.reserve(std::min(text.size() / 3, max_tokens) + 4);
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  std::vector<Segment> segments, inner;
  const int ps = parse_special ? 1 : 0;
  // Phase 1: added tokens matched on the raw text (normalized=false).
  if (m.matchers[0][ps].empty()) {
    segments.push_back(Segment{0, text.size(), -1});
  } else {
    m.matchers[0][ps].Split(text, &segments);
  }
  std::string normalized;
  for (const Segment& seg : segments) {
    if (ids.size() > max_tokens) break;
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    std::string_view part = text.substr(seg.begin, seg.end - seg.begin);
    if (!m.normalizers.empty()) {
      normalized.assign(part);
      for (tok::NormalizationForm f : m.normalizers) normalized = tok::Normalize(f, normalized);
      part = normalized;
    }
    // Phase 2: added tokens matched on the normalized text (normalized=true).
    if (m.matchers[1][ps].empty()) {
      EncodePlain(m, part, &pieces, &arena, &ids, max_tokens);
      continue;
    }
    inner.clear();
    m.matchers[1][ps].Split(part, &inner);
    for (const Segment& s : inner) {
      if (s.id >= 0) {
        ids.push_back(s.id);
      } else {
        EncodePlain(m, part.substr(s.begin, s.end - s.begin), &pieces, &arena, &ids, max_tokens);
      }
    }
  }
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += TokenBytes(id);
  return out;
}

const std::string& Tokenizer::TokenBytes(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= n_vocab()) return kEmpty;
  return impl_->token_bytes[id];
}

std::optional<int32_t> Tokenizer::FindToken(std::string_view text) const {
  auto it = impl_->added_by_content.find(std::string(text));
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->bpe.Lookup(text);
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->token_bytes.size()); }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
std::optional<int32_t> Tokenizer::eot_id() const { return impl_->eot; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
const std::vector<std::string>& Tokenizer::SpecialTokenTexts() const { return impl_->special_texts; }

std::vector<std::pair<size_t, size_t>> Tokenizer::FindAddedTokens(std::string_view text) const {
  // Both phases' tokens, looked for in the text as written (the normalized
  // phase's tokens as they would appear before normalization).
  std::vector<std::pair<size_t, size_t>> out;
  std::vector<Segment> segments;
  for (int norm = 0; norm < 2; ++norm) {
    if (impl_->matchers[norm][1].empty()) continue;
    segments.clear();
    impl_->matchers[norm][1].Split(text, &segments);
    for (const Segment& s : segments)
      if (s.id >= 0) out.emplace_back(s.begin, s.end);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int32_t> Tokenizer::EncodeAsText(std::string_view text, size_t max_tokens) const {
  const Impl& m = *impl_;
  std::string sanitized;
  if (!tok::IsValidUtf8(text)) {
    sanitized = tok::SanitizeUtf8(text);
    text = sanitized;
  }
  std::string normalized;
  if (!m.normalizers.empty()) {
    normalized.assign(text);
    for (tok::NormalizationForm f : m.normalizers) normalized = tok::Normalize(f, normalized);
    text = normalized;
  }
  std::vector<int32_t> ids;
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  EncodePlain(m, text, &pieces, &arena, &ids, max_tokens);
  return ids;
}

bool Tokenizer::IsControl(int32_t id) const {
  return id >= 0 && id < n_vocab() && impl_->is_control[id] != 0;
}
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
std::string Tokenizer::bos_token() const { return TokenBytes(impl_->bos); }
std::string Tokenizer::eos_token() const { return TokenBytes(impl_->eos); }

std::string Tokenizer::Describe() const {
  const Impl& m = *impl_;
  std::string norm;
  for (auto f : m.normalizers) norm += std::string(norm.empty() ? "" : "+") + tok::NormalizationFormName(f);
  return fmt::format("source={} pre={} normalizer={} n_vocab={} merges={} added={} bos={} eos={} eot={} add_bos={}",
                     m.source, m.pre_name, norm.empty() ? "none" : norm, n_vocab(), m.bpe.num_merges(),
                     m.added.size(), m.bos, m.eos, m.eot ? std::to_string(*m.eot) : "none", m.add_bos);
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

std::string StreamDecoder::Push(int32_t id) {
  pending_ += tokenizer_.TokenBytes(id);
  std::string out;
  const auto* p = reinterpret_cast<const uint8_t*>(pending_.data());
  const size_t n = pending_.size();
  size_t i = 0;
  while (i < n) {
    bool valid;
    const size_t len = tok::Utf8SeqLen(p + i, n - i, &valid);
    if (valid) {
      out.append(pending_, i, len);
    } else if (i + len == n && p[i] >= 0xC2 && p[i] <= 0xF4) {
      break;  // a valid prefix cut by the end: wait for the next token
    } else {
      out += "\xEF\xBF\xBD";
    }
    i += len;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out = tok::SanitizeUtf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace r1
