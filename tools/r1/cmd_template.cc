// r1 template: render a model's chat template, exactly as the model sees it.
//
//   r1 template -m model.gguf --messages chat.json --add-generation-prompt
//   r1 template --tokenizer DIR --messages chat.json
//   r1 template -m model.gguf --messages chat.json --template other.jinja
//
// chat.json is an OpenAI-style messages array, or an object
//   {"messages": [...], "tools": [...], <other keys>}
// whose other keys become template variables (e.g. "enable_thinking": false
// for Qwen3). The prompt is written to stdout byte for byte, with no newline
// added.
//
// Where the template comes from: --template FILE; else the GGUF key
// tokenizer.chat_template, or chat_template in DIR/tokenizer_config.json;
// else r1's built-in DeepSeek-R1 template (chat/chat_template.h), with a note
// on stderr. bos_token / eos_token are the texts of tokenizer.ggml.bos/
// eos_token_id in the GGUF vocabulary, or bos_token / eos_token of
// tokenizer_config.json (a string or {"content": ...}).
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "gguf/gguf.h"
#include "r1/json.h"

namespace {

using ojson = nlohmann::ordered_json;

struct Options {
  std::string model;
  std::string tokenizer_dir;
  std::string messages_file;
  std::string template_file;
  bool add_generation_prompt = false;
};

struct TemplateSource {
  std::string text;  // empty: none found
  std::string bos, eos;
};

r1::StatusOr<TemplateSource> FromGguf(const std::string& path) {
  auto file = r1::gguf::File::Open(path);
  if (!file.ok()) return file.status();
  const r1::gguf::File& f = **file;
  TemplateSource src;
  src.text = f.GetStringOr("tokenizer.chat_template", "");
  auto tokens = f.GetArray("tokenizer.ggml.tokens");
  if (tokens.ok()) {
    const auto& strs = (*tokens)->strs;
    auto text_of = [&](const char* key) -> std::string {
      int64_t id = f.GetIntOr(key, -1);
      if (id < 0 || static_cast<size_t>(id) >= strs.size()) return "";
      return strs[static_cast<size_t>(id)];
    };
    src.bos = text_of("tokenizer.ggml.bos_token_id");
    src.eos = text_of("tokenizer.ggml.eos_token_id");
  }
  return src;
}

std::string TokenText(const ojson& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

r1::StatusOr<TemplateSource> FromTokenizerDir(const std::string& dir) {
  std::string path = dir + "/tokenizer_config.json";
  auto text = r1::cli::ReadFile(path);
  if (!text.ok()) return text.status();
  auto parsed = r1::ParseJson<ojson>(*text, path);
  if (!parsed.ok()) return parsed.status();
  const ojson& cfg = *parsed;
  if (!cfg.is_object()) return r1::Status::InvalidArgument(path + ": not a JSON object");
  TemplateSource src;
  src.bos = TokenText(cfg.value("bos_token", ojson()));
  src.eos = TokenText(cfg.value("eos_token", ojson()));
  const ojson tmpl = cfg.value("chat_template", ojson());
  if (tmpl.is_string()) {
    src.text = tmpl.get<std::string>();
  } else if (tmpl.is_array()) {
    // Named templates: [{"name": "default", "template": "..."}, ...].
    for (const auto& t : tmpl) {
      if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string())
        src.text = t["template"].get<std::string>();
    }
  } else if (!tmpl.is_null()) {
    return r1::Status::InvalidArgument(path + ": chat_template must be a string or a list of named templates");
  }
  return src;
}

int Run(const Options& o) {
  using r1::cli::Fail;
  if (!o.model.empty() == !o.tokenizer_dir.empty())
    return Fail(r1::Status::InvalidArgument("give exactly one of -m MODEL.gguf or --tokenizer DIR"));
  auto src = o.model.empty() ? FromTokenizerDir(o.tokenizer_dir) : FromGguf(o.model);
  if (!src.ok()) return Fail(src.status());
  if (!o.template_file.empty()) {
    auto text = r1::cli::ReadFile(o.template_file);
    if (!text.ok()) return Fail(text.status());
    src->text = *text;
  }

  auto msg_text = r1::cli::ReadFile(o.messages_file);
  if (!msg_text.ok()) return Fail(msg_text.status());
  auto msg_doc = r1::ParseJson<ojson>(*msg_text, o.messages_file);
  if (!msg_doc.ok()) return Fail(msg_doc.status());
  ojson& doc = *msg_doc;
  r1::chat::ChatInputs in;
  if (doc.is_array()) {
    in.messages = r1::jinja::Value::FromJson(doc);
  } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (it.key() == "messages") in.messages = r1::jinja::Value::FromJson(it.value());
      else if (it.key() == "tools") in.tools = it.value().is_null() ? r1::jinja::Value::None() : r1::jinja::Value::FromJson(it.value());
      else in.extra_vars.Set(r1::jinja::Value::String(it.key()), r1::jinja::Value::FromJson(it.value()));
    }
  } else {
    return Fail(r1::Status::InvalidArgument(o.messages_file +
                                            ": expected a messages array or an object with \"messages\""));
  }
  in.add_generation_prompt = o.add_generation_prompt;
  in.bos_token = src->bos;
  in.eos_token = src->eos;

  const r1::chat::ChatTemplate* tmpl = &r1::chat::ChatTemplate::DefaultR1();
  r1::StatusOr<r1::chat::ChatTemplate> parsed = r1::Status::NotFound("no template");
  if (src->text.empty()) {
    std::fprintf(stderr, "r1: the model has no chat template; using the built-in DeepSeek-R1 template\n");
  } else {
    parsed = r1::chat::ChatTemplate::Parse(src->text);
    if (!parsed.ok()) return Fail(parsed.status());
    tmpl = &*parsed;
  }
  auto out = tmpl->Render(in);
  if (!out.ok()) return Fail(out.status());
  std::fwrite(out->data(), 1, out->size(), stdout);
  std::fflush(stdout);
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "template", "Render a chat template for a messages file",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model (its tokenizer.chat_template)")->transform(r1::cli::ModelSource());
      app.add_option("--tokenizer", o->tokenizer_dir, "HF tokenizer dir with tokenizer_config.json");
      app.add_option("--messages", o->messages_file, "messages JSON (array, or {messages, tools, ...})")->required();
      app.add_flag("--add-generation-prompt", o->add_generation_prompt, "end with the assistant turn opener");
      app.add_option("--template", o->template_file, "use this Jinja file instead of the model's template");
      return [o] { return Run(*o); };
    });

}  // namespace
