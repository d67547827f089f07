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
  bool ignore_merges = false;  // HF BPE ignore_merges (Llama-3 sets it)
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

// DeepSeek-LLM: cased letters of many scripts, listed as code points
// because several (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A) are
// NFC singletons that an editor could silently normalize.
constexpr const char* kDeepSeekLlmLetters =
    "\\s?[A-Za-z"
    "\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"
    "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-"
    "\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
    "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-"
    "\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
    "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
    "\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
    "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}"
    "\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-"
    "\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
    "\\x{1E900}-\\x{1E943}"
    "]+";

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
      {"llama-bpe|llama3|llama-v3", {kLlama3}, NormalizationForm::kNone, true},
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

bool PreTokenizer::PresetIgnoresMerges(std::string_view name) {
  const Preset* preset = FindPreset(name);
  return preset != nullptr && preset->ignore_merges;
}

}  // namespace r1::tok
