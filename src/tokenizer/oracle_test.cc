// Differential test against the JS reference (@lenml/tokenizers) for
// DeepSeek-V3, Qwen3 and Llama-3.1: a purpose-written corpus (≥5,000
// strings) and seeded random Unicode strings (≥5,000), all encoded by the
// oracle in one `node tests/js/oracle.js` batch per model.
//
// Known places where the JS oracle is *not* HF `tokenizers` (Rust +
// Oniguruma, Unicode 14 — the same tables as Debian's PCRE2 10.42), so the
// random generator leaves them out and tokenizer_test.cc pins our (HF)
// behaviour instead:
//   - JS \s includes U+FEFF and excludes U+0085; Unicode White_Space is the
//     reverse.
//   - JS (?i:'s|...) is ASCII-only; Oniguruma's case folding also matches
//     U+017F (ſ) for 's'.
//   - node 20 has Unicode 17 property tables: code points assigned after
//     Unicode 14 get other categories there. The generator draws only code
//     points PCRE2 knows as assigned, plus planes 4–13 (unassigned in all).
#include <gtest/gtest.h>

#include "util/skip.h"

#include <nlohmann/json.hpp>
#include <random>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1::tok {
namespace {

// Deterministic on every platform (no std distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(g_()) * n) >> 32); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(static_cast<uint32_t>(v.size()))]; }

 private:
  std::mt19937 g_;
};

const std::vector<std::string>& Snippets() {
  static const std::vector<std::string> s = {
      "Hello, world!", "The quick brown fox jumps over the lazy dog.", "I'm sure they'll say it's fine; we've done it.",
      "DON'T SHOUT, I'D LIKE IT QUIET", "e.g. U.S.A. vs. Mr. Smith's", "naïve café résumé Zürich façade",
      "Привет, как дела? Съешь же ещё этих мягких французских булок.", "Ελληνικά: Γειά σου Κόσμε",
      "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, आप कैसे हैं?", "বাংলা ভাষা", "தமிழ் மொழி",
      "ภาษาไทยง่ายนิดเดียว", "Tiếng Việt có dấu: Cửa Việt, người", "中文测试：你好，世界！", "日本語のテキストです。カタカナ",
      "ひらがなとカタカナ、漢字", "한국어 텍스트입니다", "繁體中文與简体中文混合", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３",
      "emoji 😀😃😄 👍🏽 ❤️", "family 👩‍👩‍👧‍👦 and 👨‍💻 flags 🇺🇸🇯🇵", "🏳️‍🌈 ✋🏿 🧑🏻‍🚀", "math ∑ x² ≤ ∞ ∫ √2 π≈3.14159",
      "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
      "if (a && b || !c) { return -1; } else if (x != y) {}", "const re = /^[a-z]+$/gi; let s = `t ${v}`;",
      "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';", "<div class=\"x\">&nbsp;&lt;tag&gt;</div>",
      "{\"key\": [1, 2.5, -3e10, null, true]}", "#include <vector>\nint main() { return 0; }",
      "    indented\n\tTabbed\r\nCRLF line\r\n", "path/to/file.txt C:\\Windows\\System32 ~/home/user",
      "https://example.com/a?b=c&d=e#frag", "user@example.org +1 (555) 123-4567",
      "1234567890", "3.14159265358979", "-0.5e-10", "1,000,000.00", "12:34:56 2024-01-31", "٠١٢٣٤٥٦٧٨٩ ०१२३ ①②③ ½ ¾ Ⅻ",
      "v1.2.3-rc.1+build.5", "0x1F 0b1010 0o777", "   ", "\n\n\n", "\t\t", " \n \n ", "  leading", "trailing  ",
      "a  b   c    d", "\u00a0nbsp\u2003em\u3000ideographic", "zero\u200bwidth\u200cjoin\u200d",
      "<|im_start|>system\nYou are helpful.<|im_end|>\n", "<|im_start|>assistant\n<think>\nLet me think.\n</think>\n\n",
      "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>", "<｜end▁of▁sentence｜>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
      "<|eot_id|>", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|endoftext|>", "<|im_sta", "<<|im_end|>>", "<think></think>",
      "<|fim_prefix|>x<|fim_middle|>", "[INST] hi [/INST]", "<s> </s> <unk>", "ǅ ǈ ǋ Ǆ ǆ", "İstanbul ıi",
      "Straße STRASSE ß ẞ", "ﬁ ﬂ ﬀ ligatures", "Å Å Ω Ω K K", "e\u0301 a\u0308 o\u0302 (combining)", "한\u1100\u1161",
      "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D", "it's 'quoted' “curly” ‘single’ «guillemets»",
      "!!!??? ... --- *** ### @@@", "a\u2028b\u2029c", "tab\there", "mixed中文English混合text", "数字123和456",
      "abc123def456", "12345678901234567890", "x=1;y=2;z=x+y", "😀😀😀😀😀😀😀😀", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "    def __init__(self, *args, **kwargs):", "// comment\n/* block */",
      "Ꭰ Ꮳ ꭰ Georgian ᲐᲑᲒ ა", "Armenian Բարեւ", "Ethiopic ሰላም", "Tibetan བོད་", "Mongolian ᠮᠣᠩᠭᠣᠯ",
      "Khmer ភាសាខ្មែរ", "Sinhala සිංහල", "Myanmar မြန်မာ", "Gujarati ગુજરાતી", "Telugu తెలుగు", "Urdu اردو",
      "Persian فارسی ۱۲۳", "Yiddish ייִדיש", "Syriac ܠܫܢܐ", "Thaana ދިވެހި", "Cherokee ᏣᎳᎩ", "Inuktitut ᐃᓄᒃᑎᑐᑦ",
      "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𝒮𝒸𝓇𝒾𝓅𝓉", "𐍈 Gothic 𐌰𐌱", "𠀀𠀁 CJK Ext B 𪜀", "\x7f\x01\x02 controls \x1b[31m",
  };
  return s;
}

std::vector<std::string> BuildCorpus() {
  std::vector<std::string> out = Snippets();
  const std::vector<std::string> seps = {"", " ", "  ", "\n", "\n\n", "\t", "\r\n", " \n", "   \n  ", "\u3000", "、", ". "};
  Rng rng(20250131);
  while (out.size() < 5200) {
    std::string s;
    const uint32_t parts = 1 + rng.Below(4);
    for (uint32_t i = 0; i < parts; ++i) {
      if (i) s += rng.Pick(seps);
      std::string piece = rng.Pick(Snippets());
      // Sometimes a number, a whitespace run or a cut-off piece.
      switch (rng.Below(8)) {
        case 0: piece = std::to_string(rng.Below(1000000000)); break;
        case 1: piece = std::string(1 + rng.Below(9), " \t\n"[rng.Below(3)]); break;
        case 2: {
          const auto cps = piece.size();
          size_t cut = rng.Below(static_cast<uint32_t>(cps) + 1);
          while (cut < piece.size() && (static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) ++cut;
          piece = piece.substr(0, cut);
          break;
        }
        default: break;
      }
      s += piece;
    }
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

bool OracleComparable(uint32_t cp, const Regex& unassigned) {
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if (cp == 0x85 || cp == 0xFEFF || cp == 0x17F) return false;
  if (cp >= 0x40000 && cp <= 0xDFFFF) return true;  // unassigned in every Unicode version
  std::string s;
  AppendUtf8(cp, &s);
  size_t b, e;
  return !unassigned.Find(s, 0, &b, &e);
}

std::vector<std::string> BuildRandom(size_t n) {
  auto unassigned = Regex::Compile("\\p{Cn}", false);
  EXPECT_TRUE(unassigned.ok());
  struct Range {
    uint32_t lo, hi;
  };
  const std::vector<Range> pools = {
      {0x20, 0x7E}, {0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x52F}, {0x590, 0x6FF},
      {0x900, 0x97F}, {0xE00, 0xE7F}, {0x1100, 0x11FF}, {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3}, {0xFE00, 0xFE0F}, {0xFF00, 0xFFEF}, {0x1F300, 0x1FAFF}, {0x200D, 0x200D}, {0x30, 0x39},
      {0x0, 0xFFFF}, {0x10000, 0x2FFFF}, {0x0, 0x10FFFF}};
  Rng rng(7);
  std::vector<std::string> out;
  while (out.size() < n) {
    const uint32_t len = 1 + rng.Below(rng.Below(4) == 0 ? 120 : 24);
    std::string s;
    // A string mostly draws from two pools, like real mixed text.
    const Range a = rng.Pick(pools), b = rng.Pick(pools);
    for (uint32_t i = 0; i < len; ++i) {
      const Range& r = rng.Below(3) == 0 ? b : a;
      uint32_t cp = r.lo + rng.Below(r.hi - r.lo + 1);
      int tries = 0;
      while (!OracleComparable(cp, **unassigned) && tries++ < 20) cp = r.lo + rng.Below(r.hi - r.lo + 1);
      if (!OracleComparable(cp, **unassigned)) cp = 'x';
      AppendUtf8(cp, &s);
    }
    out.push_back(s);
  }
  return out;
}

// Runs the JS oracle over `texts`; returns one id list per text.
bool RunOracle(const std::string& model, const std::vector<std::string>& texts,
               std::vector<std::vector<int32_t>>* ids) {
  const std::string base = std::string(R1_BINARY_DIR) + "/tokenizer-oracle-" + model;
  {
    std::ofstream in(base + ".in.jsonl", std::ios::binary);
    for (const auto& t : texts) in << nlohmann::json(t).dump() << "\n";
  }
  const std::string cmd = "node '" + testing::JsDir() + "/oracle.js' " + model + " < '" + base +
                          ".in.jsonl' > '" + base + ".out.jsonl'";
  if (testing::Shell(cmd) != 0) return false;
  std::ifstream out(base + ".out.jsonl");
  std::string line;
  while (std::getline(out, line)) ids->push_back(nlohmann::json::parse(line).get<std::vector<int32_t>>());
  std::filesystem::remove(base + ".in.jsonl");
  std::filesystem::remove(base + ".out.jsonl");
  return ids->size() == texts.size();
}

class Oracle : public ::testing::TestWithParam<const char*> {};

TEST_P(Oracle, ZeroMismatches) {
  std::string why;
  if (!testing::EnsureOracle(&why)) R1_SKIP_OR_FAIL(why);
  auto tok = Tokenizer::FromDirectory(testing::OracleModelDir(GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::vector<std::string> corpus = BuildCorpus();
  const size_t n_corpus = corpus.size();
  for (auto& s : BuildRandom(5200)) corpus.push_back(std::move(s));
  ASSERT_GE(n_corpus, 5000u);
  ASSERT_GE(corpus.size() - n_corpus, 5000u);
  std::vector<std::vector<int32_t>> expected;
  ASSERT_TRUE(RunOracle(GetParam(), corpus, &expected)) << "node oracle failed";
  size_t mismatches[2] = {0, 0}, roundtrip = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto ids = (*tok)->Encode(corpus[i], /*parse_special=*/true);
    if (ids != expected[i]) {
      if (mismatches[0] + mismatches[1] < 10)
        ADD_FAILURE() << GetParam() << " mismatch on " << nlohmann::json(corpus[i]).dump() << "\n ours: "
                      << nlohmann::json(ids).dump() << "\n   js: " << nlohmann::json(expected[i]).dump();
      ++mismatches[i < n_corpus ? 0 : 1];
    }
    // Qwen declares an NFC normalizer, so there decode(encode(x)) == NFC(x).
    const bool nfc = std::string(GetParam()) == "qwen3";
    if ((*tok)->Decode(ids) != (nfc ? Normalize(NormalizationForm::kNfc, corpus[i]) : corpus[i])) ++roundtrip;
  }
  std::printf("[ oracle   ] %s: %zu corpus + %zu random strings; mismatches corpus=%zu random=%zu; "
              "round-trip failures=%zu\n",
              GetParam(), n_corpus, corpus.size() - n_corpus, mismatches[0], mismatches[1], roundtrip);
  EXPECT_EQ(mismatches[0], 0u);
  EXPECT_EQ(mismatches[1], 0u);
  EXPECT_EQ(roundtrip, 0u);
}

INSTANTIATE_TEST_SUITE_P(Lenml, Oracle, ::testing::Values("deepseek_v3", "qwen3", "llama3_1"));

}  // namespace
}  // namespace r1::tok
