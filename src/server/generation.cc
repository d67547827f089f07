#include "server/generation.h"

#include <ctime>
#include <random>

#include "runtime/prompt.h"
#include "server/constraints.h"

namespace r1::server {

using nlohmann::json;

Generation::Generation(ServerContext& ctx, ApiRequest req, std::string id)
    : ctx_(ctx), req_(std::move(req)), id_(std::move(id)) {
  created_ = static_cast<int64_t>(std::time(nullptr));
  start_ = last_token_ = std::chrono::steady_clock::now();
}

Generation::~Generation() {
  if (handle_ && !done()) handle_->Cancel();
  if (handle_ && !counted_)
    ctx_.metrics.Tokens(update_.prompt_tokens, update_.completion_tokens, update_.reasoning_tokens);
}

StatusOr<std::unique_ptr<Generation>> Generation::Start(ServerContext& ctx, ApiRequest req, std::string id,
                                                       std::function<bool()> cancelled) {
  auto g = std::unique_ptr<Generation>(new Generation(ctx, std::move(req), std::move(id)));
  const ApiRequest& r = g->req_;
  Engine& engine = *ctx.engine;
  PromptInput in;
  in.chat = r.chat;
  in.messages = r.messages;
  in.tools = r.tools;
  in.text = r.prompt;
  in.max_tokens = engine.ctx_size();
  in.special_in_messages = ctx.opts.special_in_messages;
  in.limits.cancelled = std::move(cancelled);
  auto prompt = BuildPrompt(engine.tokenizer(), engine.chat_template(), in);
  if (!prompt.ok()) return prompt.status();
  if (!r.chat) g->prompt_text_ = r.prompt;

  GenerationParams p;
  p.sampling = r.sampling;
  if (!r.seed_given) p.sampling.seed = std::random_device{}() * 0x100000001ull + std::random_device{}();
  p.max_tokens = r.max_tokens;
  p.logprobs = r.logprobs;
  p.top_logprobs = r.top_logprobs;
  p.max_thinking_tokens = r.chat ? r.max_thinking_tokens : -1;
  g->text_ = std::make_unique<TextOutput>(engine.tokenizer(), r.stop, /*split_reasoning=*/r.chat && ctx.thinks());
  chat::ToolCallFormat f = chat::ToolCallFormatFor(engine.chat_template().source());
  if (!ctx.opts.tool_format.empty()) {
    auto parsed = chat::ParseToolCallFormat(ctx.opts.tool_format);
    if (!parsed.ok()) return parsed.status();
    f = *parsed;
  }
  std::string param;
  auto gbnf = ConstraintGbnf(r, f, &param);
  if (!gbnf.ok()) return gbnf.status();
  if (!gbnf->empty()) {
    auto m = engine.Constraint(*gbnf);
    if (!m.ok()) return Status::InvalidArgument("'grammar': " + m.status().message());
    p.constraint = *m;
  }
  if (r.chat && r.tools.is_array() && !r.tools.empty() && !r.tool_choice_none) {
    g->tools_ = std::make_unique<chat::ToolCallParser>(f, "call_" + g->id_.substr(g->id_.find('-') + 1) + "_",
                                                       r.parallel_tool_calls ? SIZE_MAX : 1);
  }
  g->n_prompt_ = static_cast<int64_t>(prompt->tokens.size());
  auto h = engine.scheduler().Submit(std::move(prompt->tokens), p);
  if (!h.ok()) return h.status();
  g->handle_ = *h;
  return g;
}

bool Generation::Next(TextDelta* delta, std::chrono::milliseconds timeout) {
  RequestUpdate u;
  if (done() || !handle_->Wait(&u, timeout)) return false;
  const auto now = std::chrono::steady_clock::now();
  if (!u.tokens.empty()) {
    const double dt = std::chrono::duration<double>(now - last_token_).count();
    if (!seen_token_) {
      first_token_ = now;
      ctx_.metrics.TimeToFirstToken(dt);
      for (size_t i = 1; i < u.tokens.size(); ++i) ctx_.metrics.InterTokenLatency(0);
    } else {
      for (size_t i = 0; i < u.tokens.size(); ++i) ctx_.metrics.InterTokenLatency(dt / static_cast<double>(u.tokens.size()));
    }
    seen_token_ = true;
    last_token_ = now;
  }
  text_->Push(u.tokens, req_.logprobs, delta);
  update_.prompt_tokens = u.prompt_tokens;
  update_.cached_tokens = u.cached_tokens;
  update_.completion_tokens = std::max(update_.completion_tokens, u.completion_tokens);
  update_.reasoning_tokens = std::max(update_.reasoning_tokens, u.reasoning_tokens);
  update_.draft_tokens = std::max(update_.draft_tokens, u.draft_tokens);
  update_.accepted_tokens = std::max(update_.accepted_tokens, u.accepted_tokens);
  if (text_->stopped()) {
    stopped_by_string_ = true;
    finish_ = FinishReason::kStop;
    handle_->Cancel();
  } else if (u.finish != FinishReason::kNone) {
    finish_ = u.finish;
    update_.status = u.status;
    text_->Finish(delta);
    if (text_->stopped()) stopped_by_string_ = true, finish_ = FinishReason::kStop;
  }
  if (tools_) {  // the answer's tool calls come out of its text
    std::string text = std::move(delta->content);
    delta->content.clear();
    tools_->Push(text, &delta->content, &delta->tool_calls);
    if (done()) tools_->Finish(&delta->content, &delta->tool_calls);
  }
  if (done() && !counted_) {
    counted_ = true;
    ctx_.metrics.Tokens(update_.prompt_tokens, update_.completion_tokens, update_.reasoning_tokens);
  }
  return true;
}

void Generation::Cancel() {
  if (handle_ && !done()) {
    handle_->Cancel();
    ctx_.metrics.Cancelled();
  }
}

int64_t Generation::first_token_ns() const {
  if (!seen_token_) return elapsed_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(first_token_ - start_).count();
}

int64_t Generation::elapsed_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
}

const std::vector<chat::ToolCall>& Generation::tool_calls() const {
  static const std::vector<chat::ToolCall> kNone;
  return tools_ ? tools_->calls() : kNone;
}

std::string Generation::finish_reason() const {
  // A request cut short by shutdown reports "length": it ended early, not on a stop.
  if (finish_ == FinishReason::kCancelled) return "length";
  if (finish_ == FinishReason::kStop && has_tool_calls()) return "tool_calls";
  return FinishReasonName(finish_);
}

json Generation::Usage() const {
  return {{"prompt_tokens", update_.prompt_tokens},
          {"completion_tokens", update_.completion_tokens},
          {"total_tokens", update_.prompt_tokens + update_.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", update_.cached_tokens}}},
          // OpenAI's names for predicted tokens that were, and were not, used:
          // here the speculative drafts (0 without --spec).
          {"completion_tokens_details",
           {{"reasoning_tokens", update_.reasoning_tokens},
            {"accepted_prediction_tokens", update_.accepted_tokens},
            {"rejected_prediction_tokens", update_.draft_tokens - update_.accepted_tokens}}}};
}

json Generation::Logprobs(const TextDelta& d) const {
  if (!req_.logprobs) return nullptr;
  if (req_.chat) {
    json content = json::array();
    for (const auto& t : d.logprobs) {
      json top = json::array();
      for (const auto& [s, l] : t.top)
        top.push_back({{"token", s}, {"logprob", l}, {"bytes", std::vector<uint8_t>(s.begin(), s.end())}});
      content.push_back({{"token", t.text},
                         {"logprob", t.logprob},
                         {"bytes", std::vector<uint8_t>(t.text.begin(), t.text.end())},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), lps = json::array(), tops = json::array();
  for (const auto& t : d.logprobs) {
    tokens.push_back(t.text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [s, l] : t.top) top[s] = l;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}};
}

json Generation::Chunk(const TextDelta& d, bool first) const {
  json choice = {{"index", 0}, {"logprobs", Logprobs(d)}, {"finish_reason", nullptr}};
  if (req_.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    if (!d.content.empty() || first) delta["content"] = d.content;
    if (!d.tool_calls.empty()) {
      json calls = json::array();
      for (const chat::ToolCallDelta& t : d.tool_calls) {
        json c = {{"index", t.index}};
        json fn = {{"arguments", t.arguments}};
        if (!t.id.empty()) {
          c["id"] = t.id;
          c["type"] = "function";
          fn["name"] = t.name;
        }
        c["function"] = fn;
        calls.push_back(c);
      }
      delta["tool_calls"] = calls;
    }
    choice["delta"] = delta;
  } else {
    choice["text"] = (first && req_.echo ? prompt_text_ : "") + d.content;
  }
  return {{"id", id_},
          {"object", req_.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created_},
          {"model", ctx_.model_id},
          {"choices", {choice}}};
}

json Generation::FinalChunk() const {
  json c = Chunk(TextDelta{}, false);
  c["choices"][0]["finish_reason"] = finish_reason();
  if (req_.chat) c["choices"][0]["delta"] = json::object();
  return c;
}

json Generation::UsageChunk() const {
  json c = Chunk(TextDelta{}, false);
  c["choices"] = json::array();
  c["usage"] = Usage();
  return c;
}

json Generation::Response(const TextDelta& all) const {
  json choice = {{"index", 0}, {"logprobs", Logprobs(all)}, {"finish_reason", finish_reason()}};
  if (req_.chat) {
    json msg = {{"role", "assistant"}, {"content", all.content}};
    if (!all.reasoning.empty() || ctx_.thinks()) msg["reasoning_content"] = all.reasoning;
    if (has_tool_calls()) {
      json calls = json::array();
      for (const chat::ToolCall& t : tool_calls())
        calls.push_back({{"id", t.id}, {"type", "function"}, {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
      msg["tool_calls"] = calls;
      if (all.content.empty()) msg["content"] = nullptr;  // as OpenAI answers a pure call
    }
    choice["message"] = msg;
  } else {
    choice["text"] = (req_.echo ? prompt_text_ : "") + all.content;
  }
  return {{"id", id_},
          {"object", req_.chat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", ctx_.model_id},
          {"choices", {choice}},
          {"usage", Usage()}};
}

}  // namespace r1::server
