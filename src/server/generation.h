// One generation request as the HTTP layer sees it: the prompt built and
// submitted, the scheduler's token updates turned into text deltas, and the
// OpenAI JSON objects (chunks, final response, usage) built from them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/context.h"
#include "runtime/text_output.h"

namespace r1::server {

class Generation {
 public:
  // Builds the prompt (chat template or raw text), tokenizes and submits it.
  // Errors carry the HTTP mapping of their code (400 for a prompt longer
  // than the context, 429 for a full queue).
  // `cancelled` stops the template rendering (the client left, the server stops).
  static StatusOr<std::unique_ptr<Generation>> Start(ServerContext& ctx, ApiRequest req, std::string id,
                                                     std::function<bool()> cancelled = {});
  ~Generation();

  // Waits up to `timeout` for output; false when nothing came. Stop strings
  // end the request here (the scheduler is told to drop it).
  bool Next(TextDelta* delta, std::chrono::milliseconds timeout);
  bool done() const { return finish_ != FinishReason::kNone; }
  // The client went away: cancel at the scheduler's next step.
  void Cancel();

  const ApiRequest& request() const { return req_; }
  const Status& error() const { return update_.status; }
  std::string finish_reason() const;
  // For the other APIs' own shapes.
  const std::string& id() const { return id_; }
  const std::string& model() const { return ctx_.model_id; }
  int64_t created() const { return created_; }
  FinishReason finish() const { return finish_; }
  bool stopped_by_string() const { return stopped_by_string_; }
  const RequestUpdate& totals() const { return update_; }  // token counts so far
  int64_t prompt_tokens() const { return n_prompt_; }
  bool thinks() const { return ctx_.thinks(); }
  // The tool calls parsed from the answer so far (empty without tools).
  const std::vector<chat::ToolCall>& tool_calls() const;
  bool has_tool_calls() const { return !tool_calls().empty(); }
  // Nanoseconds from the request's start to its first token, and to now.
  int64_t first_token_ns() const;
  int64_t elapsed_ns() const;

  // OpenAI objects.
  nlohmann::json Chunk(const TextDelta& d, bool first) const;  // a streaming chunk with this delta
  nlohmann::json FinalChunk() const;                           // finish_reason, empty delta
  nlohmann::json UsageChunk() const;                           // choices [] and usage
  nlohmann::json Response(const TextDelta& all) const;         // the non-streaming body
  nlohmann::json Usage() const;

 private:
  Generation(ServerContext& ctx, ApiRequest req, std::string id);
  nlohmann::json Logprobs(const TextDelta& d) const;

  ServerContext& ctx_;
  ApiRequest req_;
  std::string id_;
  int64_t created_ = 0;
  std::chrono::steady_clock::time_point start_, last_token_, first_token_;
  int64_t n_prompt_ = 0;
  std::shared_ptr<RequestHandle> handle_;
  std::unique_ptr<TextOutput> text_;
  std::unique_ptr<chat::ToolCallParser> tools_;  // with tools and tool_choice != none
  RequestUpdate update_;  // totals and finish from the scheduler
  FinishReason finish_ = FinishReason::kNone;
  bool stopped_by_string_ = false;
  bool seen_token_ = false;
  bool counted_ = false;
  std::string prompt_text_;  // completions with echo
};

}  // namespace r1::server
