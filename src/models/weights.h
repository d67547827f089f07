// Typed access to a model's tensors, with errors that name the tensor.
#pragma once

#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "r1/status.h"

namespace r1 {

class Weights {
 public:
  explicit Weights(const gguf::File& f) : f_(f) {}

  bool Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }

  // A 2-D weight with ne = {k, rows} (PyTorch Linear (rows, k)), of a type the
  // matmul kernels support. Counts its bytes toward bytes().
  StatusOr<kernels::Matrix> Matrix(const std::string& name, int64_t k, int64_t rows);
  // A 3-D expert tensor ne = {k, rows, n_expert} as one matrix of
  // rows · n_expert rows; expert e is Slice(e · rows, rows).
  StatusOr<kernels::Matrix> Experts(const std::string& name, int64_t k, int64_t rows, int64_t n_expert);
  // A 1-D tensor of n values (norm weights, biases), converted to float.
  StatusOr<std::vector<float>> Vector(const std::string& name, int64_t n);

  uint64_t bytes() const { return bytes_; }
  const gguf::File& file() const { return f_; }

 private:
  StatusOr<const gguf::TensorInfo*> Find(const std::string& name, const std::vector<int64_t>& ne);

  const gguf::File& f_;
  uint64_t bytes_ = 0;
};

}  // namespace r1
