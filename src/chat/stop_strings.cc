#include "chat/stop_strings.h"

#include <algorithm>

namespace r1::chat {

size_t Utf8CompletePrefix(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the last lead byte.
  size_t n = s.size();
  size_t i = n;
  int cont = 0;
  while (i > 0 && cont < 4) {
    unsigned char c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) break;
    --i;
    ++cont;
  }
  if (i == 0) return n;  // only continuation bytes (or empty): nothing to wait for
  unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  int need;
  if (lead < 0x80) need = 1;
  else if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  else return n;  // invalid lead byte: pass through
  if (cont + 1 < need) return i - 1;  // sequence not finished yet
  return n;
}

std::string Utf8Stream::Push(std::string_view bytes) {
  held_.append(bytes);
  size_t k = Utf8CompletePrefix(held_);
  std::string out = held_.substr(0, k);
  held_.erase(0, k);
  return out;
}

std::string Utf8Stream::Flush() {
  std::string out;
  out.swap(held_);
  return out;
}

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

StopStringMatcher::Result StopStringMatcher::Feed(std::string_view piece) {
  Result r;
  if (stopped_) return r;
  buffer_.append(piece);
  // The earliest stop string in the buffer wins.
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const auto& s : stops_) {
    size_t p = buffer_.find(s);
    if (p < best) {
      best = p;
      which = &s;
    }
  }
  if (which) {
    r.text = buffer_.substr(0, best);
    r.stopped = true;
    r.matched = *which;
    buffer_.clear();
    stopped_ = true;
    return r;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    size_t max_k = std::min(s.size() - 1, buffer_.size());
    for (size_t k = max_k; k > hold; --k) {
      if (buffer_.compare(buffer_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  size_t emit = Utf8CompletePrefix(std::string_view(buffer_).substr(0, buffer_.size() - hold));
  r.text = buffer_.substr(0, emit);
  buffer_.erase(0, emit);
  return r;
}

StopStringMatcher::Result StopStringMatcher::Finish() {
  Result r;
  if (stopped_) return r;
  r.text.swap(buffer_);
  return r;
}

}  // namespace r1::chat
