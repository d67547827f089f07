#include "chat/tool_calls.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace r1::chat {
namespace {

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";
constexpr std::string_view kFence = "\n```";
constexpr std::string_view kHermesBegin = "<tool_call>";
constexpr std::string_view kHermesEnd = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The length of the longest suffix of `s` that is a proper prefix of `m`:
// text that may still turn into the marker.
size_t HeldBack(std::string_view s, std::string_view m) {
  for (size_t n = std::min(s.size(), m.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == m.substr(0, n)) return n;
  return 0;
}

std::string Trim(std::string_view s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

}  // namespace

StatusOr<ToolCallFormat> ParseToolCallFormat(const std::string& name) {
  if (name == "r1") return ToolCallFormat::kR1;
  if (name == "v3.1") return ToolCallFormat::kV31;
  if (name == "hermes") return ToolCallFormat::kHermes;
  if (name == "llama3") return ToolCallFormat::kLlama3;
  if (name == "none") return ToolCallFormat::kNone;
  return Status::InvalidArgument("--tool-format: '" + name + "' is not one of r1, v3.1, hermes, llama3, none");
}

const char* ToolCallFormatName(ToolCallFormat f) {
  switch (f) {
    case ToolCallFormat::kNone: return "none";
    case ToolCallFormat::kR1: return "r1";
    case ToolCallFormat::kV31: return "v3.1";
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kLlama3: return "llama3";
  }
  return "none";
}

ToolCallFormat ToolCallFormatFor(const std::string& src) {
  if (src.find("tool▁calls▁begin") != std::string::npos || src.find("tool▁call▁begin") != std::string::npos)
    return src.find("```json") != std::string::npos ? ToolCallFormat::kR1 : ToolCallFormat::kV31;
  if (src.find("<tool_call>") != std::string::npos) return ToolCallFormat::kHermes;
  if (src.find("<|python_tag|>") != std::string::npos || src.find("ipython") != std::string::npos)
    return ToolCallFormat::kLlama3;
  return ToolCallFormat::kR1;  // templates without tools get R1-0528's tool preamble
}

ToolCallParser::ToolCallParser(ToolCallFormat format, std::string id_prefix, size_t max_calls)
    : format_(format), id_prefix_(std::move(id_prefix)), max_calls_(max_calls) {}

void ToolCallParser::Begin(const std::string& name, std::vector<ToolCallDelta>* calls) {
  dropping_ = calls_.size() >= max_calls_;
  if (dropping_) return;
  const int index = static_cast<int>(calls_.size());
  calls_.push_back({id_prefix_ + std::to_string(index), name, ""});
  calls->push_back({index, calls_.back().id, name, ""});
}

void ToolCallParser::Args(const std::string& raw, std::vector<ToolCallDelta>* calls) {
  if (raw.empty() || calls_.empty() || dropping_) return;
  // Whitespace before the JSON is dropped, so that "no arguments" is "{}".
  const std::string text = calls_.back().arguments.empty() ? raw.substr(std::min(raw.size(), raw.find_first_not_of(" \t\r\n"))) : raw;
  if (text.empty()) return;
  const int index = static_cast<int>(calls_.size()) - 1;
  calls_.back().arguments += text;
  if (!calls->empty() && calls->back().index == index) {
    calls->back().arguments += text;
  } else {
    calls->push_back({index, "", "", text});
  }
}

bool ToolCallParser::WholeJsonCall(const std::string& text, bool llama, std::vector<ToolCallDelta>* calls) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  const char* args_key = j.contains("arguments") ? "arguments" : llama ? "parameters" : "arguments";
  std::string args = "{}";
  if (auto it = j.find(args_key); it != j.end() && !it->is_null())
    args = it->is_string() ? it->get<std::string>() : it->dump();
  Begin(j["name"].get<std::string>(), calls);
  Args(args, calls);
  return true;
}

void ToolCallParser::Push(std::string_view text, std::string* content, std::vector<ToolCallDelta>* calls) {
  buf_.append(text);
  Step(content, calls, false);
}

void ToolCallParser::Finish(std::string* content, std::vector<ToolCallDelta>* calls) {
  Step(content, calls, true);
  for (size_t i = 0; i < calls_.size(); ++i)
    if (calls_[i].arguments.empty()) {
      calls_[i].arguments = "{}";
      calls->push_back({static_cast<int>(i), "", "", "{}"});
    }
}

void ToolCallParser::Step(std::string* content, std::vector<ToolCallDelta>* calls, bool final) {
  if (format_ == ToolCallFormat::kNone || state_ == State::kDone) {
    *content += buf_;
    buf_.clear();
    return;
  }
  if (format_ == ToolCallFormat::kLlama3) {
    if (state_ == State::kText && at_start_) {
      const std::string t = Trim(buf_);
      if (t.empty() && !final) return;
      at_start_ = false;
      const bool maybe = !t.empty() && (t[0] == '{' || StartsWith(t, kPythonTag) || StartsWith(kPythonTag, t));
      state_ = maybe ? State::kWhole : State::kDone;
    }
    if (state_ == State::kDone || !final) {
      if (state_ == State::kDone) *content += buf_, buf_.clear();
      return;
    }
    std::string t = Trim(buf_);
    if (StartsWith(t, kPythonTag)) t = Trim(std::string_view(t).substr(kPythonTag.size()));
    if (!WholeJsonCall(t, /*llama=*/true, calls)) *content += buf_;
    buf_.clear();
    state_ = State::kDone;
    return;
  }
  if (format_ == ToolCallFormat::kHermes) {
    for (;;) {
      if (state_ == State::kText) {
        const size_t at = buf_.find(kHermesBegin);
        if (at == std::string::npos) {
          const size_t hold = final ? 0 : HeldBack(buf_, kHermesBegin);
          *content += buf_.substr(0, buf_.size() - hold);
          buf_.erase(0, buf_.size() - hold);
          return;
        }
        *content += buf_.substr(0, at);
        buf_.erase(0, at);
        state_ = State::kWhole;
      }
      // buf_ starts with <tool_call>.
      const size_t end = buf_.find(kHermesEnd);
      if (end == std::string::npos) {
        if (!final) return;
        if (!WholeJsonCall(Trim(std::string_view(buf_).substr(kHermesBegin.size())), false, calls)) *content += buf_;
        buf_.clear();
        state_ = State::kText;
        return;
      }
      const std::string whole = buf_.substr(0, end + kHermesEnd.size());
      if (!WholeJsonCall(Trim(std::string_view(buf_).substr(kHermesBegin.size(), end - kHermesBegin.size())), false,
                         calls))
        *content += whole;
      buf_.erase(0, whole.size());
      state_ = State::kText;
    }
  }
  // R1 and V3.1.
  const bool r1 = format_ == ToolCallFormat::kR1;
  for (;;) {
    switch (state_) {
      case State::kText: {
        const size_t a = buf_.find(kCallsBegin), b = buf_.find(kCallBegin);
        const size_t at = std::min(a, b);
        if (at == std::string::npos) {
          const size_t hold = final ? 0 : std::max(HeldBack(buf_, kCallsBegin), HeldBack(buf_, kCallBegin));
          *content += buf_.substr(0, buf_.size() - hold);
          buf_.erase(0, buf_.size() - hold);
          return;
        }
        *content += buf_.substr(0, at);
        const bool outer = at == a;
        buf_.erase(0, at + (outer ? kCallsBegin.size() : kCallBegin.size()));
        state_ = outer ? State::kBetween : State::kHeader;
        break;
      }
      case State::kBetween: {
        const size_t ws = buf_.find_first_not_of(" \t\r\n");
        if (ws == std::string::npos) {
          if (final) buf_.clear();
          return;
        }
        buf_.erase(0, ws);
        if (StartsWith(buf_, kCallBegin)) {
          buf_.erase(0, kCallBegin.size());
          state_ = State::kHeader;
        } else if (StartsWith(buf_, kCallsEnd)) {
          buf_.erase(0, kCallsEnd.size());
          state_ = State::kText;
        } else if (!final && (StartsWith(kCallBegin, buf_) || StartsWith(kCallsEnd, buf_))) {
          return;  // a marker still arriving
        } else {
          state_ = State::kText;  // not a call after all: text
        }
        break;
      }
      case State::kHeader: {
        const size_t sep = buf_.find(kSep);
        if (sep == std::string::npos) {
          if (final) buf_.clear(), state_ = State::kText;
          return;
        }
        if (!r1) {  // V3.1: NAME<sep>ARGS
          Begin(Trim(std::string_view(buf_).substr(0, sep)), calls);
          buf_.erase(0, sep + kSep.size());
          state_ = State::kArgs;
          break;
        }
        // R1: TYPE<sep>NAME\n```json\nARGS
        const size_t nl = buf_.find('\n', sep);
        if (nl == std::string::npos) {
          if (!final) return;
          Begin(Trim(std::string_view(buf_).substr(sep + kSep.size())), calls);
          buf_.clear();
          return;
        }
        const std::string name = Trim(std::string_view(buf_).substr(sep + kSep.size(), nl - sep - kSep.size()));
        std::string_view rest = std::string_view(buf_).substr(nl + 1);
        if (StartsWith(rest, "```")) {
          const size_t fence_nl = rest.find('\n');
          if (fence_nl == std::string_view::npos) {
            if (!final) return;
            Begin(name, calls);
            buf_.clear();
            return;
          }
          Begin(name, calls);
          buf_.erase(0, nl + 1 + fence_nl + 1);
        } else if (!final && StartsWith("```", rest)) {
          return;
        } else {
          Begin(name, calls);  // no fence: the arguments follow directly
          buf_.erase(0, nl + 1);
        }
        state_ = State::kArgs;
        break;
      }
      case State::kArgs: {
        size_t end = buf_.find(kCallEnd), term = kCallEnd.size();
        if (r1) {
          const size_t fence = buf_.find(kFence);
          if (fence != std::string::npos && fence < end) {
            // The fence closes the arguments; wait for the call's end marker after it.
            const size_t call_end = buf_.find(kCallEnd, fence);
            if (call_end == std::string::npos && !final) {
              Args(buf_.substr(0, fence), calls);
              buf_.erase(0, fence);
              return;
            }
            end = fence;
            term = (call_end == std::string::npos ? buf_.size() : call_end + kCallEnd.size()) - fence;
          }
        }
        if (end == std::string::npos) {
          const size_t hold =
              final ? 0 : std::max(HeldBack(buf_, kCallEnd), r1 ? HeldBack(buf_, kFence) : size_t{0});
          Args(buf_.substr(0, buf_.size() - hold), calls);
          buf_.erase(0, buf_.size() - hold);
          return;
        }
        Args(buf_.substr(0, end), calls);
        buf_.erase(0, end + term);
        state_ = State::kBetween;
        break;
      }
      case State::kWhole:
      case State::kDone:
        *content += buf_;
        buf_.clear();
        return;
    }
  }
}

}  // namespace r1::chat
