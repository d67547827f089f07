#include "server/metrics.h"

#include <fmt/format.h>

namespace r1::server {

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  *out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    *out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  *out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void Metrics::Request(const std::string& endpoint, int http_status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, http_status}];
}

void Metrics::Tokens(int64_t prompt, int64_t completion, int64_t reasoning) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  completion_tokens_ += static_cast<uint64_t>(completion);
  reasoning_tokens_ += static_cast<uint64_t>(reasoning);
}

void Metrics::TimeToFirstToken(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.Observe(s);
}

void Metrics::InterTokenLatency(double s) {
  std::lock_guard<std::mutex> lock(mu_);
  itl_.Observe(s);
}

void Metrics::Cancelled() {
  std::lock_guard<std::mutex> lock(mu_);
  ++cancelled_;
}

namespace {

void Line(std::string* out, const char* name, const char* type, const char* help, int64_t v) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
}

}  // namespace

std::string Metrics::Render(const SchedulerStats& s) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP r1_requests_total HTTP requests by endpoint and status.\n# TYPE r1_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    out += fmt::format("r1_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
  Line(&out, "r1_requests_cancelled_total", "counter", "Requests whose client went away.", static_cast<int64_t>(cancelled_));
  Line(&out, "r1_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", static_cast<int64_t>(prompt_tokens_));
  Line(&out, "r1_completion_tokens_total", "counter", "Generated tokens of finished requests.",
       static_cast<int64_t>(completion_tokens_));
  Line(&out, "r1_reasoning_tokens_total", "counter", "Generated reasoning tokens.", static_cast<int64_t>(reasoning_tokens_));
  Line(&out, "r1_prompt_tokens_computed_total", "counter", "Prompt tokens run through the model.", s.prompt_tokens_computed);
  Line(&out, "r1_prefix_cache_hit_tokens_total", "counter", "Prompt tokens reused from the prefix cache.",
       s.prefix_hit_tokens);
  Line(&out, "r1_generated_tokens_total", "counter", "Tokens sampled by the scheduler.", s.generated_tokens);
  Line(&out, "r1_steps_total", "counter", "Batched forward passes.", s.steps);
  Line(&out, "r1_spec_draft_tokens_total", "counter", "Speculative draft tokens proposed.", s.draft_tokens);
  Line(&out, "r1_spec_accepted_tokens_total", "counter", "Speculative draft tokens accepted.", s.draft_accepted);
  Line(&out, "r1_spec_verify_steps_total", "counter", "Sequence steps that verified drafts.", s.spec_steps);
  out += fmt::format("# HELP r1_spec_acceptance_ratio Accepted over proposed draft tokens.\n"
                     "# TYPE r1_spec_acceptance_ratio gauge\nr1_spec_acceptance_ratio {}\n",
                     s.draft_tokens ? static_cast<double>(s.draft_accepted) / static_cast<double>(s.draft_tokens)
                                    : 0.0);
  Line(&out, "r1_queue_depth", "gauge", "Requests waiting for a sequence slot.", s.queued);
  Line(&out, "r1_active_sequences", "gauge", "Sequences being generated.", s.active);
  Line(&out, "r1_kv_sequences", "gauge", "Sequences holding KV blocks.", s.kv_seqs);
  Line(&out, "r1_kv_blocks_total", "gauge", "KV cache blocks in the pool.", s.kv_blocks_total);
  Line(&out, "r1_kv_blocks_used", "gauge", "KV cache blocks in use (sequences and prefix cache).", s.kv_blocks_used);
  Line(&out, "r1_kv_blocks_cached", "gauge", "KV blocks named by the prefix cache.", s.kv_blocks_cached);
  Line(&out, "r1_kv_blocks_evictable", "gauge", "KV blocks held only by the prefix cache.", s.kv_blocks_evictable);
  out += fmt::format("# HELP r1_kv_usage_ratio KV blocks used by sequences over the pool.\n"
                     "# TYPE r1_kv_usage_ratio gauge\nr1_kv_usage_ratio {}\n",
                     s.kv_blocks_total ? static_cast<double>(s.kv_blocks_used - s.kv_blocks_evictable) /
                                             static_cast<double>(s.kv_blocks_total)
                                       : 0.0);
  ttft_.Render("r1_time_to_first_token_seconds", "From request arrival to its first generated token.", &out);
  itl_.Render("r1_inter_token_latency_seconds", "Between consecutive tokens of a stream.", &out);
  return out;
}

}  // namespace r1::server
