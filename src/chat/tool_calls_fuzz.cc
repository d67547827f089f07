// libFuzzer: arbitrary model output through ToolCallParser in every format,
// split into pieces by the input's own bytes. It must not crash, and the
// streamed deltas must reassemble to the calls it reports.
//
// Build: scripts/build.sh fuzz;  Run: build/fuzz/tool_calls_fuzz
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "chat/tool_calls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  using r1::chat::ToolCallFormat;
  const ToolCallFormat formats[] = {ToolCallFormat::kR1, ToolCallFormat::kV31, ToolCallFormat::kHermes,
                                    ToolCallFormat::kLlama3, ToolCallFormat::kNone};
  const ToolCallFormat f = formats[data[0] % 5];
  const size_t step = 1 + data[1] % 17;
  const std::string text(reinterpret_cast<const char*>(data) + 2, size - 2);
  r1::chat::ToolCallParser p(f, "c");
  std::string content;
  std::vector<r1::chat::ToolCallDelta> deltas;
  for (size_t at = 0; at < text.size(); at += step) p.Push(std::string_view(text).substr(at, step), &content, &deltas);
  p.Finish(&content, &deltas);
  std::vector<std::string> args(p.calls().size());
  for (const auto& d : deltas) {
    if (d.index < 0 || static_cast<size_t>(d.index) >= args.size()) std::abort();
    args[static_cast<size_t>(d.index)] += d.arguments;
  }
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] != p.calls()[i].arguments) std::abort();
  if (f == ToolCallFormat::kNone && content != text) std::abort();
  return 0;
}
