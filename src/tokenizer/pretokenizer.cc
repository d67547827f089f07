#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include <algorithm>

namespace r1::tok {
namespace {

// Unicode White_Space (PropList.txt), which is what Oniguruma (HF tokenizers)
// and llama.cpp use for \s. PCRE2's UCP \s would also take U+180E.
constexpr std::string_view kWhiteSpaceClass =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

// GPT-2's pattern, used by ByteLevel(use_regex=true).
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Per-thread PCRE2 state. The JIT stack grows to 8 MiB for deep backtracking.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (context != nullptr && stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& MatchState() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

std::string TranslatePattern(std::string_view p) {
  // `\s+$` restarts a scan of the whole whitespace run at every position of
  // it (quadratic). Its leftmost match never starts right after whitespace,
  // so the lookbehind changes no match and makes the search linear.
  if (p == "\\s+$") return std::string("(?<![") + std::string(kWhiteSpaceClass) + "])[" +
                           std::string(kWhiteSpaceClass) + "]+$";
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        if (in_class) {
          out += kWhiteSpaceClass;
        } else {
          out += '[';
          out += kWhiteSpaceClass;
          out += ']';
        }
      } else if (e == 'S' && !in_class) {
        out += "[^";
        out += kWhiteSpaceClass;
        out += ']';
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

StatusOr<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, bool literal) {
  std::unique_ptr<Regex> re(new Regex());
  re->source_ = std::string(pattern);
  re->translated_ = literal ? std::string(pattern) : TranslatePattern(pattern);
  // PCRE2_LITERAL admits UTF but not UCP (which only affects classes).
  const uint32_t options = literal ? (PCRE2_UTF | PCRE2_LITERAL) : (PCRE2_UTF | PCRE2_UCP);
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re->translated_.data()), re->translated_.size(),
                    options, &err, &err_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return Status::InvalidArgument(fmt::format("pre-tokenizer regex '{}' does not compile at offset {}: {}",
                                               re->source_, err_offset,
                                               reinterpret_cast<const char*>(msg)));
  }
  re->code_ = code;
  re->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::Find(std::string_view subject, size_t start, size_t* match_begin,
                 size_t* match_end) const {
  ThreadMatchState& st = MatchState();
  if (st.data == nullptr) return false;
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  int rc;
  if (jit_) {
    rc = pcre2_jit_match(code, s, subject.size(), start, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      // JIT stack exhausted (pathological backtracking): retry interpreted.
      rc = pcre2_match(code, s, subject.size(), start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, st.data,
                       nullptr);
    }
  } else {
    rc = pcre2_match(code, s, subject.size(), start, PCRE2_NO_UTF_CHECK, st.data, nullptr);
  }
  // Any other error (match/heap limit) is treated as "no further match": the
  // rest of the piece stays one unsplit piece. Never reached by the presets.
  if (rc < 0) return false;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
  *match_begin = ov[0];
  *match_end = ov[1];
  return true;
}

Status PreTokenizer::AddSplit(std::string_view pattern, bool literal, SplitBehavior behavior,
                              bool invert) {
  auto re = Regex::Compile(pattern, literal);
  if (!re.ok()) return re.status();
  PreTokenizerStep step;
  step.kind = PreTokenizerStep::Kind::kSplit;
  step.regex = std::move(re).value();
  step.behavior = behavior;
  step.invert = invert;
  steps_.push_back(std::move(step));
  return Status::Ok();
}

Status PreTokenizer::AddByteLevel(bool add_prefix_space, bool use_regex) {
  if (add_prefix_space) {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::kPrefixSpace;
    steps_.push_back(std::move(step));
  }
  if (use_regex) R1_RETURN_IF_ERROR(AddSplit(kGpt2Pattern, false, SplitBehavior::kIsolated, false));
  has_byte_level_ = true;
  return Status::Ok();
}

void PreTokenizer::AddDigits(bool individual_digits) {
  // HF uses char::is_numeric (Nd|Nl|No) == \p{N}; one match per char, with
  // Isolated or Contiguous behaviour.
  Status s = AddSplit(individual_digits ? "\\p{N}" : "\\p{N}+", false, SplitBehavior::kIsolated, false);
  (void)s;  // constant pattern; always compiles
}

namespace {

// Applies one Split step to `piece`, appending the resulting pieces.
void SplitPiece(const PreTokenizerStep& step, std::string_view piece,
                std::vector<std::string_view>* out) {
  const Regex& re = *step.regex;
  if (step.behavior == SplitBehavior::kIsolated && !step.invert) {
    // Hot path: gaps and matches are all emitted.
    size_t pos = 0, prev = 0, b = 0, e = 0;
    while (pos <= piece.size() && re.Find(piece, pos, &b, &e)) {
      if (b > prev) out->push_back(piece.substr(prev, b - prev));
      if (e > b) {
        out->push_back(piece.substr(b, e - b));
        prev = pos = e;
      } else {
        // Empty match: skip one code point (as Oniguruma's find_iter does).
        prev = b;
        pos = b + 1;
        while (pos < piece.size() && (static_cast<unsigned char>(piece[pos]) & 0xC0) == 0x80) ++pos;
      }
    }
    if (prev < piece.size()) out->push_back(piece.substr(prev));
    return;
  }
  // General path: HF's find_matches, then the delimiter behaviour.
  struct Part {
    size_t b, e;
    bool match;
  };
  std::vector<Part> parts;
  size_t pos = 0, prev = 0, b = 0, e = 0;
  while (pos <= piece.size() && re.Find(piece, pos, &b, &e)) {
    if (b > prev) parts.push_back({prev, b, false});
    if (e > b) {
      parts.push_back({b, e, true});
      prev = pos = e;
    } else {
      prev = b;
      pos = b + 1;
      while (pos < piece.size() && (static_cast<unsigned char>(piece[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  if (prev < piece.size()) parts.push_back({prev, piece.size(), false});
  if (step.invert)
    for (auto& p : parts) p.match = !p.match;

  std::vector<Part> res;  // here `match` means "remove"
  bool previous_match = false;
  switch (step.behavior) {
    case SplitBehavior::kIsolated:
      for (auto& p : parts) res.push_back({p.b, p.e, false});
      break;
    case SplitBehavior::kRemoved:
      for (auto& p : parts) res.push_back({p.b, p.e, p.match});
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (auto& p : parts) {
        if (p.match && !previous_match && !res.empty()) {
          res.back().e = p.e;
        } else {
          res.push_back({p.b, p.e, false});
        }
        previous_match = p.match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (size_t i = parts.size(); i-- > 0;) {
        const Part& p = parts[i];
        if (p.match && !previous_match && !res.empty()) {
          res.back().b = p.b;
        } else {
          res.push_back({p.b, p.e, false});
        }
        previous_match = p.match;
      }
      std::reverse(res.begin(), res.end());
      break;
    case SplitBehavior::kContiguous:
      for (size_t i = 0; i < parts.size(); ++i) {
        const Part& p = parts[i];
        if (i > 0 && p.match == previous_match) {
          res.back().e = p.e;
        } else {
          res.push_back({p.b, p.e, false});
        }
        previous_match = p.match;
      }
      break;
  }
  for (auto& p : res)
    if (!p.match && p.e > p.b) out->push_back(piece.substr(p.b, p.e - p.b));
}

}  // namespace

void PreTokenizer::Run(std::string_view text, std::vector<std::string_view>* pieces,
                       std::deque<std::string>* arena) const {
  pieces->clear();
  if (text.empty()) return;
  pieces->push_back(text);
  std::vector<std::string_view> next;
  for (const PreTokenizerStep& step : steps_) {
    next.clear();
    next.reserve(pieces->size() + 16);
    for (std::string_view piece : *pieces) {
      if (step.kind == PreTokenizerStep::Kind::kPrefixSpace) {
        if (!piece.empty() && piece[0] == ' ') {
          next.push_back(piece);
        } else {
          arena->push_back(" " + std::string(piece));
          next.push_back(arena->back());
        }
      } else {
        SplitPiece(step, piece, &next);
      }
    }
    pieces->swap(next);
  }
}

}  // namespace r1::tok
