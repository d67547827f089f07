// Test helpers for driving a Scheduler without its thread: step it until
// every request finished, collecting each one's tokens and last update.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "runtime/scheduler.h"

namespace r1::testing {

struct Result {
  std::vector<int32_t> tokens;
  RequestUpdate last;
};

// Runs all requests together, stepping until every one finished.
inline std::vector<Result> RunAll(Scheduler& s, const std::vector<std::shared_ptr<RequestHandle>>& hs) {
  std::vector<Result> out(hs.size());
  std::vector<bool> done(hs.size(), false);
  for (size_t n_done = 0; n_done < hs.size();) {
    s.Step();
    for (size_t i = 0; i < hs.size(); ++i) {
      if (done[i]) continue;
      RequestUpdate u;
      if (!hs[i]->Wait(&u, std::chrono::milliseconds(0))) continue;
      for (auto& t : u.tokens) out[i].tokens.push_back(t.token);
      out[i].last = u;
      if (u.finish != FinishReason::kNone) done[i] = true, ++n_done;
    }
  }
  return out;
}

}  // namespace r1::testing
