// Server metrics in the Prometheus text exposition format (GET /metrics).
//
// Counters and histograms are updated by the HTTP handlers; gauges (queue
// depth, active sequences, KV blocks) are read from the scheduler's stats
// when the page is rendered. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/scheduler.h"

namespace r1::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void Observe(double v);
  // "name_bucket{le="..."} n" lines, then _sum and _count.
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // last one is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void Request(const std::string& endpoint, int http_status);
  void Tokens(int64_t prompt, int64_t completion, int64_t reasoning);
  void TimeToFirstToken(double seconds);
  void InterTokenLatency(double seconds);
  void Cancelled();
  std::string Render(const SchedulerStats& s) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // GUARDED_BY(mu_)
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, reasoning_tokens_ = 0, cancelled_ = 0;  // GUARDED_BY(mu_)
  Histogram ttft_;  // GUARDED_BY(mu_)
  Histogram itl_;   // GUARDED_BY(mu_)
};

}  // namespace r1::server
