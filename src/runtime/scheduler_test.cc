// The continuous-batching scheduler on a tiny synthetic model, without HTTP:
// batch-independent outputs, chunked prefill, prefix reuse, cancellation,
// admission limits and the thinking budget.
#include "runtime/scheduler.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

#include "models/synthetic/synthetic.h"
#include "runtime/engine.h"
#include "util/scheduler_util.h"

namespace r1 {
namespace {

using testing::Result;
using testing::RunAll;

const std::string& TinyModel() {
  static const std::string path = [] {
    std::string p = std::string(R1_BINARY_DIR) + "/scheduler_test_tiny.gguf";
    SyntheticSpec spec;  // tiny qwen2 with a tokenizer
    spec.n_vocab = 320;
    Status st = WriteSyntheticModel(spec, p);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return p;
  }();
  return path;
}

std::unique_ptr<Engine> Load(int64_t kv_tokens) {
  EngineOptions o;
  o.model_path = TinyModel();
  o.ctx_size = kv_tokens;
  o.threads = 2;
  o.verbose = false;
  auto e = Engine::Load(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(*e);
}

std::vector<int32_t> Prompt(int n, int salt) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 37 + salt * 101 + 7) % 250);
  return p;
}

GenerationParams Params(int64_t max_tokens, uint64_t seed, float temperature = 0.9f) {
  GenerationParams g;
  g.max_tokens = max_tokens;
  g.sampling.temperature = temperature;
  g.sampling.top_p = 0.95f;
  g.sampling.seed = seed;
  return g;
}


Result Drain(Scheduler& s, const std::shared_ptr<RequestHandle>& h) {
  Result r;
  for (;;) {
    RequestUpdate u;
    while (!h->Wait(&u, std::chrono::milliseconds(0)))
      if (!s.Step()) break;
    for (auto& t : u.tokens) r.tokens.push_back(t.token);
    r.last = u;
    if (u.finish != FinishReason::kNone) return r;
  }
}


TEST(Scheduler, OutputIsTheSameAloneOrAmongSixteen) {
  auto e = Load(4096);
  SchedulerOptions so;
  so.max_seqs = 17;
  so.max_batch_tokens = 64;
  so.prefix_cache = false;
  std::vector<int32_t> target = Prompt(40, 1);
  std::vector<int32_t> alone;
  {
    Scheduler s(e->model(), e->cache(), e->pool(), so);
    alone = Drain(s, *s.Submit(target, Params(24, 42))).tokens;
  }
  ASSERT_EQ(alone.size(), 24u);
  Scheduler s(e->model(), e->cache(), e->pool(), so);
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (int i = 0; i < 16; ++i) hs.push_back(*s.Submit(Prompt(5 + 9 * i, 100 + i), Params(3 + 2 * i, i)));
  hs.insert(hs.begin() + 7, *s.Submit(target, Params(24, 42)));
  auto results = RunAll(s, hs);
  EXPECT_EQ(results[7].tokens, alone);
  EXPECT_EQ(results[7].last.finish, FinishReason::kLength);
  EXPECT_EQ(results[7].last.completion_tokens, 24);
  EXPECT_EQ(e->cache().blocks_in_use(), 0);
}

TEST(Scheduler, ChunkedPrefillAndPrefixReuseDoNotChangeTheOutput) {
  auto e = Load(4096);
  std::vector<int32_t> doc = Prompt(150, 3);
  SchedulerOptions big;
  big.max_batch_tokens = 512;
  big.prefix_cache = false;
  std::vector<int32_t> ref;
  {
    Scheduler s(e->model(), e->cache(), e->pool(), big);
    ref = Drain(s, *s.Submit(doc, Params(10, 7, 0.0f))).tokens;
  }
  SchedulerOptions small;
  small.max_batch_tokens = 16;  // the prompt takes 10 steps
  Scheduler s(e->model(), e->cache(), e->pool(), small);
  auto first = Drain(s, *s.Submit(doc, Params(10, 7, 0.0f)));
  EXPECT_EQ(first.tokens, ref);
  EXPECT_EQ(first.last.cached_tokens, 0);
  auto second = Drain(s, *s.Submit(doc, Params(10, 7, 0.0f)));
  EXPECT_EQ(second.tokens, ref);
  EXPECT_EQ(second.last.cached_tokens, 144);  // 9 full blocks of 16
  EXPECT_EQ(s.stats().prefix_hit_tokens, 144);
  EXPECT_EQ(s.stats().kv_seqs, 0);
  // Only the prefix cache holds blocks now, and all of them are evictable.
  EXPECT_EQ(s.stats().kv_blocks_used, s.stats().kv_blocks_evictable);
}

TEST(Scheduler, CancelledRequestsFreeTheirBlocksAtTheNextStep) {
  auto e = Load(2048);
  SchedulerOptions so;
  so.prefix_cache = false;
  Scheduler s(e->model(), e->cache(), e->pool(), so);
  auto a = *s.Submit(Prompt(30, 1), Params(100, 1));
  auto b = *s.Submit(Prompt(30, 2), Params(5, 2));
  for (int i = 0; i < 3; ++i) s.Step();
  EXPECT_GT(e->cache().blocks_in_use(), 0);
  a->Cancel();
  auto rb = Drain(s, b);
  EXPECT_EQ(rb.tokens.size(), 5u);
  RequestUpdate u;
  ASSERT_TRUE(a->Wait(&u, std::chrono::milliseconds(0)));
  EXPECT_EQ(u.finish, FinishReason::kCancelled);
  EXPECT_EQ(e->cache().blocks_in_use(), 0);
  EXPECT_EQ(e->cache().n_seqs(), 0);
}

TEST(Scheduler, AdmissionRespectsSlotsKvAndQueue) {
  auto e = Load(256);  // 16 blocks of 16
  SchedulerOptions so;
  so.max_seqs = 8;
  so.max_queue = 3;
  so.ctx_size = 128;
  Scheduler s(e->model(), e->cache(), e->pool(), so);
  auto too_long = s.Submit(Prompt(128, 0), Params(4, 0));
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  // Each commits 64 + 64 tokens = 8 blocks: only two fit at once.
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(*s.Submit(Prompt(64, i), Params(64, i)));
  EXPECT_EQ(s.Submit(Prompt(8, 9), Params(4, 0)).status().code(), StatusCode::kResourceExhausted);
  s.Step();
  EXPECT_EQ(s.stats().active, 2);
  EXPECT_EQ(s.stats().queued, 1);
  auto r = RunAll(s, hs);
  for (auto& x : r) EXPECT_EQ(x.tokens.size(), 64u);
}

TEST(Scheduler, ThinkingBudgetForcesTheEndOfThinking) {
  auto e = Load(1024);
  SchedulerOptions so;
  so.thinking.start_id = 301;
  so.thinking.end_id = 300;
  so.thinking.budget_close = {310, 311, 300, 312};  // "...answer." </think> "\n\n"
  Scheduler s(e->model(), e->cache(), e->pool(), so);
  GenerationParams g = Params(12, 5);
  g.max_thinking_tokens = 3;
  g.logprobs = true;
  g.top_logprobs = 2;
  std::vector<int32_t> prompt = Prompt(10, 4);
  prompt.push_back(301);  // the prompt opened the thought, as the R1 template does
  auto h = *s.Submit(prompt, g);
  std::vector<TokenOutput> out;
  for (;;) {
    RequestUpdate u;
    while (!h->Wait(&u, std::chrono::milliseconds(0))) s.Step();
    for (auto& t : u.tokens) out.push_back(t);
    if (u.finish != FinishReason::kNone) {
      EXPECT_EQ(u.reasoning_tokens, 6);  // 3 sampled, then the close text up to </think>
      break;
    }
  }
  ASSERT_GE(out.size(), 8u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out[3 + i].token, so.thinking.budget_close[i]);
    EXPECT_TRUE(out[3 + i].forced);
  }
  EXPECT_FALSE(out[2].forced);
  EXPECT_FALSE(out[7].forced);
  EXPECT_EQ(out[2].channel, chat::ThinkChannel::kReasoning);
  EXPECT_EQ(out[5].channel, chat::ThinkChannel::kCloseTag);
  EXPECT_EQ(out[6].channel, chat::ThinkChannel::kContent);
  EXPECT_EQ(out[0].top.size(), 2u);
  EXPECT_LE(out[0].logprob, 0.0f);
}

TEST(Scheduler, StepThreadServesAndShutsDown) {
  auto e = Load(1024);
  Scheduler s(e->model(), e->cache(), e->pool(), SchedulerOptions{});
  s.Start();
  auto h = *s.Submit(Prompt(20, 1), Params(6, 1));
  RequestUpdate u;
  std::vector<int32_t> got;
  while (u.finish == FinishReason::kNone) {
    h->Wait(&u, std::chrono::milliseconds(1000));
    for (auto& t : u.tokens) got.push_back(t.token);
    u.tokens.clear();
  }
  EXPECT_EQ(got.size(), 6u);
  auto slow = *s.Submit(Prompt(20, 2), Params(100000, 1));
  s.Shutdown(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  RequestUpdate v;
  while (v.finish == FinishReason::kNone) slow->Wait(&v, std::chrono::milliseconds(100));
  EXPECT_TRUE(v.finish == FinishReason::kCancelled || v.finish == FinishReason::kLength);
  EXPECT_EQ(s.Submit(Prompt(4, 1), Params(1, 1)).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace r1
