// libFuzzer target: parsing and rendering arbitrary template text must never
// crash or hang. Limits are tightened so each input finishes quickly; hitting
// one is a normal ResourceExhausted result.
//
// Build: cmake --preset fuzz && cmake --build --preset fuzz --target jinja_fuzz
// Run:   build/fuzz/jinja_fuzz -max_len=4096 -timeout=10
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "jinja/jinja.h"

namespace {

const nlohmann::ordered_json& Messages() {
  static const auto* m = new nlohmann::ordered_json(nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "héllo 🙂"},
    {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "tool_calls": [
      {"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null, true]}}}]},
    {"role": "tool", "content": "out"}])"));
  return *m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string src(reinterpret_cast<const char*>(data), size);
  auto t = r1::chat::ChatTemplate::Parse(src);
  if (!t.ok()) return 0;
  r1::chat::ChatInputs in;
  in.messages = r1::jinja::Value::FromJson(Messages());
  in.tools = r1::jinja::Value::FromJson(nlohmann::ordered_json::parse(R"([{"type": "function"}])"));
  in.add_generation_prompt = size % 2 == 0;
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  r1::jinja::RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_loop_iterations = 20000;
  limits.max_call_depth = 32;
  limits.max_work = 5000000;
  auto out = t->Render(in, limits);
  (void)out;
  return 0;
}
