// The named pre-tokenizers of GGUF's `tokenizer.ggml.pre`, each spelled
// exactly as the pre_tokenizer Sequence in that model's tokenizer.json, so
// that a GGUF file and the matching tokenizer.json give the same pieces.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tokenizer/pretokenizer.h"

namespace r1::tok {
namespace {

struct Preset {
  const char* names;  // '|'-separated aliases
  std::vector<const char*> splits;  // Split(Regex, Isolated) steps, then ByteLevel
  NormalizationForm normalizer;
};

// DeepSeek-V3 / R1: digits in runs of up to three, CJK + kana runs, then
// the main pattern.
constexpr const char* kDeepSeekV3Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

// Qwen2 / Qwen2.5 / Qwen3 / R1-Distill-Qwen: single digits.
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Llama-3 / R1-Distill-Llama: digits in runs of up to three.
constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

constexpr const char* kDeepSeekLlmLetters =
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";

const std::vector<Preset>& Presets() {
  static const std::vector<Preset> presets = {
      {"deepseek-v3", {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", kDeepSeekV3Main}, NormalizationForm::kNone},
      {"deepseek-llm",
       {"[\r\n]", kDeepSeekLlmLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+",
        "\\p{N}+"},
       NormalizationForm::kNone},
      {"deepseek-coder",
       {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"},
       NormalizationForm::kNone},
      {"qwen2|deepseek-r1-qwen", {kQwen2}, NormalizationForm::kNfc},
      {"llama-bpe|llama3|llama-v3", {kLlama3}, NormalizationForm::kNone},
      {"gpt2|gpt-2", {}, NormalizationForm::kNone},  // ByteLevel(use_regex) only
  };
  return presets;
}

const Preset* FindPreset(std::string_view name) {
  for (const Preset& p : Presets()) {
    std::string_view names = p.names;
    while (!names.empty()) {
      const size_t bar = names.find('|');
      if (names.substr(0, bar) == name) return &p;
      if (bar == std::string_view::npos) break;
      names.remove_prefix(bar + 1);
    }
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& PreTokenizer::PresetNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Preset& p : Presets()) {
      std::string_view n = p.names;
      size_t bar;
      while ((bar = n.find('|')) != std::string_view::npos) {
        v.emplace_back(n.substr(0, bar));
        n.remove_prefix(bar + 1);
      }
      v.emplace_back(n);
    }
    return v;
  }();
  return names;
}

StatusOr<PreTokenizer> PreTokenizer::FromPresetName(std::string_view name) {
  const Preset* preset = FindPreset(name);
  if (preset == nullptr) {
    return Status::InvalidArgument(
        fmt::format("unknown pre-tokenizer '{}' (tokenizer.ggml.pre); known: {}", name,
                    fmt::join(PresetNames(), ", ")));
  }
  PreTokenizer pre;
  for (const char* pattern : preset->splits)
    R1_RETURN_IF_ERROR(pre.AddSplit(pattern, false, SplitBehavior::kIsolated, false));
  const bool gpt2 = preset->splits.empty();
  R1_RETURN_IF_ERROR(pre.AddByteLevel(false, gpt2));
  return pre;
}

NormalizationForm PreTokenizer::PresetNormalizer(std::string_view name) {
  const Preset* preset = FindPreset(name);
  return preset == nullptr ? NormalizationForm::kNone : preset->normalizer;
}

}  // namespace r1::tok
