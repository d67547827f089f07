// r1 tokenize: text → token ids with a model's tokenizer (GGUF or HF dir).
//
//   r1 tokenize -m model.gguf "Hello world"        → 9707 1879
//   r1 tokenize --tokenizer DIR --pieces "Hello"   → one "id<TAB>piece" per line
//   r1 tokenize -m model.gguf --jsonl < in.jsonl   → one JSON array per line
//
// --jsonl reads one JSON string per line on stdin (the text may hold any
// Unicode, including newlines, escaped) and writes the ids of each as a JSON
// array on its own line, so a differential test can batch thousands of
// strings in one process.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "r1/json.h"

namespace {

struct Options {
  std::string model;
  std::string tokenizer_dir;
  std::string text;
  bool pieces = false;
  bool jsonl = false;
  bool parse_special = false;
  bool describe = false;
};

// A piece for display: printable bytes as-is, others as \xNN.
std::string ShowPiece(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int Run(const Options& o) {
  std::unique_ptr<r1::Tokenizer> tok;
  if (!o.model.empty() == !o.tokenizer_dir.empty())
    return r1::cli::Fail(r1::Status::InvalidArgument("give exactly one of -m MODEL.gguf or --tokenizer DIR"));
  if (!o.model.empty()) {
    auto file = r1::gguf::File::Open(o.model);
    if (!file.ok()) return r1::cli::Fail(file.status());
    auto t = r1::Tokenizer::FromGguf(**file);
    if (!t.ok()) return r1::cli::Fail(t.status());
    tok = std::move(t).value();
  } else {
    auto t = r1::Tokenizer::FromDirectory(o.tokenizer_dir);
    if (!t.ok()) return r1::cli::Fail(t.status());
    tok = std::move(t).value();
  }
  if (o.describe) std::fprintf(stderr, "r1: tokenizer %s\n", tok->Describe().c_str());

  if (o.jsonl) {
    std::string line;
    size_t lineno = 0;
    while (std::getline(std::cin, line)) {
      ++lineno;
      auto parsed = r1::ParseJson(line, "stdin line " + std::to_string(lineno));
      if (!parsed.ok()) return r1::cli::Fail(parsed.status());
      const nlohmann::json& j = *parsed;
      if (!j.is_string())
        return r1::cli::Fail(r1::Status::InvalidArgument("stdin line " + std::to_string(lineno) +
                                                         ": expected one JSON string"));
      const std::vector<int32_t> ids = tok->Encode(j.get<std::string>(), o.parse_special);
      std::string out = "[";
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(ids[i]);
      }
      out += "]\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
    return 0;
  }

  const std::vector<int32_t> ids = tok->Encode(o.text, o.parse_special);
  if (o.pieces) {
    for (int32_t id : ids) std::printf("%d\t%s\n", id, ShowPiece(tok->TokenBytes(id)).c_str());
  } else {
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
    }
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "tokenize", "Print the token ids of a text (GGUF model or Hugging Face tokenizer directory)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF file whose tokenizer to use")->transform(r1::cli::ModelSource());
      app.add_option("--tokenizer", o->tokenizer_dir, "Directory with tokenizer.json (+ tokenizer_config.json)");
      app.add_option("text", o->text, "Text to tokenize");
      app.add_flag("--pieces", o->pieces, "Print one 'id<TAB>piece' line per token");
      app.add_flag("--jsonl", o->jsonl, "Read one JSON string per stdin line; write one JSON id array per line");
      app.add_flag("--parse-special", o->parse_special, "Match special tokens written in the text");
      app.add_flag("--describe", o->describe, "Print the tokenizer's configuration to stderr");
      return [o] { return Run(*o); };
    });

}  // namespace
