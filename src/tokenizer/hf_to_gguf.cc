#include "tokenizer/hf_to_gguf.h"

#include <fstream>
#include <map>
#include <vector>

#include "r1/json.h"

namespace r1 {

namespace {

enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

StatusOr<nlohmann::json> ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = ParseJson(text, path);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return Status::InvalidArgument(path + ": not a JSON object");
  return j;
}

}  // namespace

StatusOr<HfTokenizerFiles> ReadHfTokenizer(const std::string& dir) {
  HfTokenizerFiles f;
  auto t = ReadJson(dir + "/tokenizer.json");
  if (!t.ok()) return t.status();
  f.tokenizer = std::move(*t);
  auto c = ReadJson(dir + "/tokenizer_config.json");
  if (c.ok()) {
    f.config = std::move(*c);
  } else if (c.status().code() == StatusCode::kNotFound) {
    f.config = nlohmann::json::object();
  } else {
    return c.status();
  }
  return f;
}

std::string HfTokenText(const nlohmann::json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
  return "";
}

Status HfTokenizerToGguf(const HfTokenizerFiles& f, const std::string& pre, int64_t n_vocab, gguf::Writer* w) {
  const nlohmann::json& tj = f.tokenizer;
  const auto model = tj.find("model");
  if (model == tj.end() || !model->is_object() || model->value("type", "") != "BPE")
    return Status::InvalidArgument("tokenizer.json: 'model' must be a BPE model");
  const auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) return Status::InvalidArgument("tokenizer.json: 'model.vocab' missing");
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer()) return Status::InvalidArgument("tokenizer.json: model.vocab['" + it.key() + "'] is not an id");
    by_id[it.value().get<int64_t>()] = {it.key(), kNormal};
  }
  if (auto added = tj.find("added_tokens"); added != tj.end() && added->is_array()) {
    for (const auto& a : *added) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string())
        return Status::InvalidArgument("tokenizer.json: added_tokens entries need an integer 'id' and a string 'content'");
      by_id[a["id"].get<int64_t>()] = {a["content"].get<std::string>(), a.value("special", false) ? kControl : kUserDefined};
    }
  }
  const int64_t n_tok = by_id.empty() ? 0 : by_id.rbegin()->first + 1;
  if (n_vocab < n_tok)
    return Status::InvalidArgument("the model's vocabulary (" + std::to_string(n_vocab) + ") is smaller than the tokenizer's (" +
                                   std::to_string(n_tok) + ")");
  std::vector<std::string> tokens(static_cast<size_t>(n_vocab));
  std::vector<int32_t> types(static_cast<size_t>(n_vocab), kUnused);
  for (int64_t i = 0; i < n_vocab; ++i) tokens[static_cast<size_t>(i)] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, tt] : by_id) {
    if (id < 0) return Status::InvalidArgument("tokenizer.json: negative token id");
    tokens[static_cast<size_t>(id)] = tt.first;
    types[static_cast<size_t>(id)] = tt.second;
  }
  std::vector<std::string> merges;
  if (auto m = model->find("merges"); m != model->end() && m->is_array()) {
    for (const auto& e : *m) {
      if (e.is_string()) {
        merges.push_back(e.get<std::string>());
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
      } else {
        return Status::InvalidArgument("tokenizer.json: model.merges entries must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  auto find_id = [&](const std::string& text) -> int64_t {
    if (text.empty()) return -1;
    for (const auto& [id, tt] : by_id)
      if (tt.first == text) return id;
    return -1;
  };
  const nlohmann::json& cfg = f.config;
  w->Set("tokenizer.ggml.model", gguf::Value::String("gpt2"));
  w->Set("tokenizer.ggml.pre", gguf::Value::String(pre));
  w->Set("tokenizer.ggml.tokens", gguf::Value::StringArray(std::move(tokens)));
  w->Set("tokenizer.ggml.token_type", gguf::Value::I32Array(std::move(types)));
  w->Set("tokenizer.ggml.merges", gguf::Value::StringArray(std::move(merges)));
  if (int64_t bos = find_id(HfTokenText(cfg.value("bos_token", nlohmann::json()))); bos >= 0)
    w->Set("tokenizer.ggml.bos_token_id", gguf::Value::U32(static_cast<uint32_t>(bos)));
  if (int64_t eos = find_id(HfTokenText(cfg.value("eos_token", nlohmann::json()))); eos >= 0)
    w->Set("tokenizer.ggml.eos_token_id", gguf::Value::U32(static_cast<uint32_t>(eos)));
  if (int64_t pad = find_id(HfTokenText(cfg.value("pad_token", nlohmann::json()))); pad >= 0)
    w->Set("tokenizer.ggml.padding_token_id", gguf::Value::U32(static_cast<uint32_t>(pad)));
  w->Set("tokenizer.ggml.add_bos_token", gguf::Value::Bool(cfg.value("add_bos_token", false)));
  w->Set("tokenizer.ggml.add_eos_token", gguf::Value::Bool(cfg.value("add_eos_token", false)));
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string())
    w->Set("tokenizer.chat_template", gguf::Value::String(cfg["chat_template"].get<std::string>()));
  return Status::Ok();
}

}  // namespace r1
