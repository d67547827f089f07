// Collects an importance matrix (gguf/imatrix.h) while a model runs: every
// matmul's input (kernels::SetMatMulObserver) is attributed to the GGUF weight
// it multiplies, by address, and its squares are summed per column; for a
// 3-D expert tensor, per expert. What llama.cpp's llama-imatrix computes.
//
// Weights the model uses through a load-time copy (the derived MLA matrices
// of some deepseek2 files) are not the file's bytes and get no entry; neither
// do the ones only read by row (the token embedding).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/imatrix.h"
#include "kernels/matmul.h"

namespace r1 {

class ImatrixCollector {
 public:
  explicit ImatrixCollector(const gguf::File& file);
  ~ImatrixCollector();  // stops observing
  ImatrixCollector(const ImatrixCollector&) = delete;
  ImatrixCollector& operator=(const ImatrixCollector&) = delete;

  // Installs itself as the process's matmul observer.
  void Start();
  void Stop();
  // One call's input: x's rows feed w, which must lie in a weight of the file
  // (anything else is ignored). Thread-safe: MoE experts call it concurrently.
  void Observe(const kernels::Matrix& w, const kernels::QuantizedActs& x);

  gguf::Imatrix Result(int64_t chunk_count, int64_t chunk_size, const std::string& dataset) const;
  size_t n_observed() const { return acc_.size(); }

 private:
  struct Weight {
    const uint8_t* begin = nullptr;
    uint64_t nbytes = 0;
    const gguf::TensorInfo* info = nullptr;
    uint64_t mat_bytes = 0;  // one expert's (or the whole 2-D matrix's) bytes
  };
  struct Acc {
    std::vector<double> sums;   // [n_mat][ne0]
    std::vector<double> counts; // [n_mat]
  };
  std::vector<Weight> weights_;  // by begin
  std::map<std::string, Acc> acc_;  // guarded by mu_ (Observe runs on the pool's threads)
  std::mutex mu_;
  bool started_ = false;
};

}  // namespace r1
