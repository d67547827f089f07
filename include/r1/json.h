// JSON from outside (request bodies, messages files, tokenizer configs,
// JSONL task files) with one nesting limit.
//
// Every walk r1 makes over parsed JSON (template values, request fields,
// tokenizer normalisers and pre-tokenizers) recurses, so a document nested
// 100,000 deep would overflow the stack. ParseJson refuses anything nested
// deeper than kMaxJsonDepth while it parses: no deep tree is ever built, and
// every later conversion can recurse safely. nlohmann's parser and
// destructor are themselves iterative.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/status.h"

namespace r1 {

inline constexpr int kMaxJsonDepth = 128;

// `what` names the input in errors ("the request body", a file path).
// Errors: InvalidArgument "<what> is not valid JSON: <where and why>" or
// "<what> nests JSON deeper than 128 levels".
template <class Json = nlohmann::json>
StatusOr<Json> ParseJson(std::string_view text, const std::string& what) {
  bool too_deep = false;
  typename Json::parser_callback_t limit = [&too_deep](int depth, typename Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;  // discard everything once too deep: nothing more is built
  };
  Json j;
  try {
    j = Json::parse(text.begin(), text.end(), limit);
  } catch (const typename Json::exception& e) {
    if (!too_deep) return Status::InvalidArgument(what + " is not valid JSON: " + e.what());
  }
  if (too_deep)
    return Status::InvalidArgument(what + " nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (j.is_discarded()) return Status::InvalidArgument(what + " is not valid JSON");
  return j;
}

}  // namespace r1
