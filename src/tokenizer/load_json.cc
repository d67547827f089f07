// Tokenizer::FromDirectory / FromJson: a Hugging Face tokenizer.json (+
// tokenizer_config.json). The model must be byte-level BPE; the normalizer
// and pre_tokenizer are interpreted generically (Sequence, NFC/NFD/NFKC/NFKD,
// Split, Digits, ByteLevel). Anything else is rejected with the JSON path
// of the offending entry rather than guessed.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/tokenizer_impl.h"
#include "r1/json.h"

namespace r1 {
namespace {

using nlohmann::json;
constexpr int64_t kMaxVocab = 1 << 24;
// Real tokenizers nest one Sequence with a handful of steps; these bound what
// a hostile tokenizer.json can make the loader (and every Encode) do.
constexpr int kMaxSequenceDepth = 8;
constexpr size_t kMaxSteps = 64;

Status TooDeep(const std::string& path) {
  return Status::InvalidArgument(fmt::format("{}: Sequence nested deeper than {} levels", path, kMaxSequenceDepth));
}

Status ParseNormalizer(const json& j, const std::string& path, std::vector<tok::NormalizationForm>* out,
                       int depth = 0) {
  if (j.is_null()) return Status::Ok();
  if (depth > kMaxSequenceDepth) return TooDeep(path);
  if (out->size() >= kMaxSteps)
    return Status::InvalidArgument(fmt::format("{}: more than {} normalizers", path, kMaxSteps));
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return Status::InvalidArgument(path + ": expected an object with a string 'type'");
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    const json& list = j.value("normalizers", json::array());
    if (!list.is_array()) return Status::InvalidArgument(path + ".normalizers: expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      R1_RETURN_IF_ERROR(ParseNormalizer(list[i], fmt::format("{}.normalizers[{}]", path, i), out, depth + 1));
    return Status::Ok();
  }
  if (type == "NFC") out->push_back(tok::NormalizationForm::kNfc);
  else if (type == "NFD") out->push_back(tok::NormalizationForm::kNfd);
  else if (type == "NFKC") out->push_back(tok::NormalizationForm::kNfkc);
  else if (type == "NFKD") out->push_back(tok::NormalizationForm::kNfkd);
  else return Status::Unimplemented(fmt::format("{}: unsupported normalizer type '{}'", path, type));
  return Status::Ok();
}

bool GetBool(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  return (it != j.end() && it->is_boolean()) ? it->get<bool>() : def;
}

Status ParsePreTokenizer(const json& j, const std::string& path, tok::PreTokenizer* pre, int depth = 0,
                         size_t* steps = nullptr) {
  if (j.is_null()) return Status::Ok();
  size_t own_steps = 0;
  if (!steps) steps = &own_steps;
  if (depth > kMaxSequenceDepth) return TooDeep(path);
  if (++*steps > kMaxSteps)
    return Status::InvalidArgument(fmt::format("{}: more than {} pre-tokenizer steps", path, kMaxSteps));
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return Status::InvalidArgument(path + ": expected an object with a string 'type'");
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    const json& list = j.value("pretokenizers", json::array());
    if (!list.is_array()) return Status::InvalidArgument(path + ".pretokenizers: expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      R1_RETURN_IF_ERROR(
          ParsePreTokenizer(list[i], fmt::format("{}.pretokenizers[{}]", path, i), pre, depth + 1, steps));
    return Status::Ok();
  }
  if (type == "Split") {
    const json& pat = j.value("pattern", json());
    bool literal;
    std::string pattern;
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
      literal = false;
      pattern = pat["Regex"].get<std::string>();
    } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
      literal = true;
      pattern = pat["String"].get<std::string>();
    } else {
      return Status::InvalidArgument(path + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string behavior = j.value("behavior", std::string("Isolated"));
    tok::SplitBehavior b;
    if (behavior == "Isolated") b = tok::SplitBehavior::kIsolated;
    else if (behavior == "Removed") b = tok::SplitBehavior::kRemoved;
    else if (behavior == "MergedWithPrevious") b = tok::SplitBehavior::kMergedWithPrevious;
    else if (behavior == "MergedWithNext") b = tok::SplitBehavior::kMergedWithNext;
    else if (behavior == "Contiguous") b = tok::SplitBehavior::kContiguous;
    else return Status::InvalidArgument(fmt::format("{}.behavior: unknown split behavior '{}'", path, behavior));
    Status s = pre->AddSplit(pattern, literal, b, GetBool(j, "invert", false));
    return s.WithContext(path);
  }
  if (type == "Digits") {
    pre->AddDigits(GetBool(j, "individual_digits", false));
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    return pre->AddByteLevel(GetBool(j, "add_prefix_space", false), GetBool(j, "use_regex", true))
        .WithContext(path);
  }
  return Status::Unimplemented(fmt::format("{}: unsupported pre_tokenizer type '{}'", path, type));
}

// A token given as "text", {"content": "text", ...} or null.
std::string TokenText(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return "";
}

StatusOr<std::unique_ptr<Tokenizer>> Load(std::string_view tokenizer_json, std::string_view config_json) {
  auto parsed_root = ParseJson(tokenizer_json, "tokenizer.json");
  if (!parsed_root.ok()) return parsed_root.status();
  json root = std::move(*parsed_root);
  if (!root.is_object()) return Status::InvalidArgument("tokenizer.json is not a JSON object");
  json cfg = json::object();
  if (!config_json.empty()) {
    auto parsed_cfg = ParseJson(config_json, "tokenizer_config.json");
    if (!parsed_cfg.ok()) return parsed_cfg.status();
    cfg = std::move(*parsed_cfg);
    if (!cfg.is_object()) return Status::InvalidArgument("tokenizer_config.json is not a JSON object");
  }
  const json& model = root.value("model", json());
  if (!model.is_object()) return Status::InvalidArgument("tokenizer.json: 'model' must be an object");
  const std::string mtype = model.value("type", std::string("BPE"));
  if (mtype != "BPE")
    return Status::Unimplemented(fmt::format("model.type '{}' is not supported (only byte-level BPE)", mtype));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
      return Status::Unimplemented(fmt::format("model.{} is not supported", key));
  }
  const json& vocab = model.value("vocab", json());
  const json& merges = model.value("merges", json::array());
  if (!vocab.is_object()) return Status::InvalidArgument("model.vocab must be an object");
  if (!merges.is_array()) return Status::InvalidArgument("model.merges must be an array");

  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->source = "tokenizer.json";
  impl->pre_name = "json";
  R1_RETURN_IF_ERROR(ParseNormalizer(root.value("normalizer", json()), "normalizer", &impl->normalizers));
  R1_RETURN_IF_ERROR(ParsePreTokenizer(root.value("pre_tokenizer", json()), "pre_tokenizer", &impl->pre));

  int64_t max_id = -1;
  const json& added = root.value("added_tokens", json::array());
  if (!added.is_array()) return Status::InvalidArgument("added_tokens must be an array");
  for (size_t i = 0; i < added.size(); ++i) {
    const json& a = added[i];
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string())
      return Status::InvalidArgument(fmt::format("added_tokens[{}]: needs integer 'id' and string 'content'", i));
    const int64_t id = a["id"].get<int64_t>();
    if (id < 0 || id >= kMaxVocab)
      return Status::InvalidArgument(fmt::format("added_tokens[{}]: id {} out of range", i, id));
    tok::AddedToken t;
    t.id = static_cast<int32_t>(id);
    t.content = a["content"].get<std::string>();
    t.special = GetBool(a, "special", false);
    t.normalized = GetBool(a, "normalized", !t.special);
    t.lstrip = GetBool(a, "lstrip", false);
    t.rstrip = GetBool(a, "rstrip", false);
    t.single_word = GetBool(a, "single_word", false);
    if (!tok::IsValidUtf8(t.content))
      return Status::InvalidArgument(fmt::format("added_tokens[{}]: content is not UTF-8", i));
    max_id = std::max(max_id, id);
    impl->added.push_back(std::move(t));
  }
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer())
      return Status::InvalidArgument(fmt::format("model.vocab['{}']: id must be an integer", it.key()));
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxVocab)
      return Status::InvalidArgument(fmt::format("model.vocab['{}']: id {} out of range", it.key(), id));
    max_id = std::max(max_id, id);
  }
  impl->token_bytes.resize(static_cast<size_t>(max_id + 1));
  std::vector<uint8_t> is_added(impl->token_bytes.size(), 0);
  for (const auto& t : impl->added) is_added[t.id] = 1;
  std::string bytes;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    tok::ByteLevelDecode(it.key(), &bytes);
    if (!is_added[id]) {
      impl->token_bytes[id] = bytes;
      impl->bpe.AddToken(bytes, id);
    }
  }
  std::string left, right;
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos) return Status::InvalidArgument(fmt::format("model.merges[{}]: no space", i));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return Status::InvalidArgument(fmt::format("model.merges[{}]: expected \"a b\" or [a, b]", i));
    }
    tok::ByteLevelDecode(a, &left);
    tok::ByteLevelDecode(b, &right);
    impl->bpe.AddMerge(left, right);
  }
  impl->bpe.set_ignore_merges(GetBool(model, "ignore_merges", false));

  // Special tokens from tokenizer_config.json, resolved by content.
  auto resolve = [&](const std::string& text) -> int32_t {
    if (text.empty()) return -1;
    for (const auto& t : impl->added)
      if (t.content == text) return t.id;
    auto it = vocab.find(text);
    return (it != vocab.end()) ? static_cast<int32_t>(it.value().get<int64_t>()) : -1;
  };
  impl->bos = resolve(TokenText(cfg, "bos_token"));
  impl->eos = resolve(TokenText(cfg, "eos_token"));
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
    impl->add_bos = cfg["add_bos_token"].get<bool>();
  } else {
    // No flag: BOS is added when the post-processor template starts with it
    // (Llama-3's TemplateProcessing).
    std::string dumped = root.value("post_processor", json()).dump();
    impl->add_bos = impl->bos >= 0 && dumped.find("\"TemplateProcessing\"") != std::string::npos &&
                    dumped.find(json(impl->token_bytes[impl->bos]).dump()) != std::string::npos;
  }
  if (auto it = cfg.find("chat_template"); it != cfg.end()) {
    if (it->is_string()) {
      impl->chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      for (const json& e : *it)
        if (e.is_object() && e.value("name", std::string()) == "default" && e.contains("template") &&
            e["template"].is_string())
          impl->chat_template = e["template"].get<std::string>();
    }
  }
  R1_RETURN_IF_ERROR(impl->Finish());
  impl->eot = GuessEot(*impl);
  return TokenizerAccess::Make(std::move(impl));
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json,
                                                         std::string_view tokenizer_config_json) {
  try {
    return Load(tokenizer_json, tokenizer_config_json);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("tokenizer.json: ") + e.what());
  }
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromDirectory(const std::string& dir) {
  auto json = ReadFile(dir + "/tokenizer.json");
  if (!json.ok()) return json.status();
  std::string config;
  if (auto c = ReadFile(dir + "/tokenizer_config.json"); c.ok()) config = std::move(c).value();
  auto tok = FromJson(*json, config);
  if (!tok.ok()) return tok.status().WithContext(dir);
  return tok;
}

}  // namespace r1
