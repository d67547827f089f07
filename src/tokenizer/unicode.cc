#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <cstring>

namespace r1::tok {

size_t Utf8SeqLen(const uint8_t* p, size_t n, bool* valid) {
  const uint8_t b0 = p[0];
  if (b0 < 0x80) {
    *valid = true;
    return 1;
  }
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *valid = false;
    return 1;
  }
  size_t i = 1;
  for (; i < len; ++i) {
    if (i >= n) {
      *valid = false;
      return i;
    }
    const uint8_t b = p[i];
    const uint8_t l = (i == 1) ? lo : 0x80, h = (i == 1) ? hi : 0xBF;
    if (b < l || b > h) {
      *valid = false;
      return i;
    }
  }
  *valid = true;
  return len;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: 8 ASCII bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    bool valid;
    const size_t len = Utf8SeqLen(p + i, n - i, &valid);
    if (!valid) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    bool valid;
    const size_t len = Utf8SeqLen(p + i, s.size() - i, &valid);
    if (valid) {
      out.append(s.data() + i, len);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += len;
  }
  return out;
}

uint32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + *i;
  const uint8_t b0 = p[0];
  if (b0 < 0x80) {
    *i += 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *i += 2;
    return ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  if (b0 < 0xF0) {
    *i += 3;
    return ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  }
  *i += 4;
  return ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
         (p[3] & 0x3Fu);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Normalize(NormalizationForm form, std::string_view s) {
  if (form == NormalizationForm::kNone) return std::string(s);
  bool ascii = true;
  for (unsigned char c : s) {
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(s);  // every form is the identity on ASCII
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::kNfc: options |= UTF8PROC_COMPOSE; break;
    case NormalizationForm::kNfd: options |= UTF8PROC_DECOMPOSE; break;
    case NormalizationForm::kNfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalizationForm::kNfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    case NormalizationForm::kNone: break;
  }
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                   static_cast<utf8proc_ssize_t>(s.size()), &dst,
                   static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    // Only reachable for invalid UTF-8, which callers sanitize first.
    std::free(dst);
    return std::string(s);
  }
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
  return out;
}

const char* NormalizationFormName(NormalizationForm form) {
  switch (form) {
    case NormalizationForm::kNone: return "none";
    case NormalizationForm::kNfc: return "NFC";
    case NormalizationForm::kNfd: return "NFD";
    case NormalizationForm::kNfkc: return "NFKC";
    case NormalizationForm::kNfkd: return "NFKD";
  }
  return "?";
}

namespace {

struct ByteLevelTables {
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, 324> cp_to_byte;  // code points used are < 0x144
  ByteLevelTables() {
    cp_to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                             (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256u + extra++;
      AppendUtf8(cp, &byte_to_utf8[b]);
      cp_to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTables& Tables() {
  static const ByteLevelTables tables;
  return tables;
}

}  // namespace

const std::array<std::string, 256>& ByteToUnicode() { return Tables().byte_to_utf8; }

bool ByteLevelDecode(std::string_view s, std::string* out) {
  const auto& t = Tables();
  out->clear();
  bool ok = true;
  size_t i = 0;
  while (i < s.size()) {
    bool valid;
    const size_t len =
        Utf8SeqLen(reinterpret_cast<const uint8_t*>(s.data()) + i, s.size() - i, &valid);
    if (!valid) {
      out->append(s.data() + i, len);
      ok = false;
      i += len;
      continue;
    }
    size_t j = i;
    const uint32_t cp = DecodeUtf8(s, &j);
    if (cp < t.cp_to_byte.size() && t.cp_to_byte[cp] >= 0) {
      out->push_back(static_cast<char>(t.cp_to_byte[cp]));
    } else {
      out->append(s.data() + i, len);
      ok = false;
    }
    i += len;
  }
  return ok;
}

}  // namespace r1::tok
