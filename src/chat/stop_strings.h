// Stop strings and UTF-8-safe streaming of decoded token text.
//
// Tokens decode to byte pieces that can end inside a multi-byte character
// ("é" = C3 A9 may arrive as C3 | A9) and inside a stop string ("</s" | "top>").
// StopStringMatcher holds back text while it could still be the start of a
// stop string or of a character, releases it once it cannot, and never
// emits a stop string itself.
//
//   StopStringMatcher m({"\n\nUser:"});
//   for (piece : pieces) { auto r = m.Feed(piece); send(r.text); if (r.stopped) break; }
//   send(m.Finish().text);   // at end of generation: what was held back
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r1::chat {

// Length of the longest prefix of `s` that does not end inside a UTF-8
// sequence. Invalid bytes count as complete (they are passed through, not
// held forever).
size_t Utf8CompletePrefix(std::string_view s);

// Re-chunks a byte stream so that every chunk is whole UTF-8 characters.
class Utf8Stream {
 public:
  std::string Push(std::string_view bytes);
  std::string Flush();  // whatever is held, complete or not
  bool empty() const { return held_.empty(); }

 private:
  std::string held_;
};

class StopStringMatcher {
 public:
  // Empty strings in `stops` are ignored.
  explicit StopStringMatcher(std::vector<std::string> stops = {});

  struct Result {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string matched; text ends right before it
    std::string matched;   // which one
  };

  // After `stopped`, further calls return nothing.
  Result Feed(std::string_view piece);
  // End of generation without a stop: releases the held-back text.
  Result Finish();

  const std::vector<std::string>& stops() const { return stops_; }
  size_t held_bytes() const { return buffer_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string buffer_;
  bool stopped_ = false;
};

}  // namespace r1::chat
