// Typed access to a model's tensors, with errors that name the tensor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "models/model.h"
#include "r1/status.h"

namespace r1 {

class Weights {
 public:
  // Without options nothing is repacked (e.g. tensors only checked, not run).
  explicit Weights(const gguf::File& f) : f_(f) {}
  Weights(const gguf::File& f, const LoadOptions& opts);
  ~Weights();

  bool Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }

  // A 2-D weight with ne = {k, rows} (PyTorch Linear (rows, k)), of a type the
  // matmul kernels support. Counts its bytes toward bytes(). Repacked when
  // the options ask for it and `pack` is set (not for lookup-only tables).
  StatusOr<kernels::Matrix> Matrix(const std::string& name, int64_t k, int64_t rows, bool pack = true);
  // A 3-D expert tensor ne = {k, rows, n_expert} as one matrix of
  // rows · n_expert rows; expert e is Slice(e · rows, rows).
  StatusOr<kernels::Matrix> Experts(const std::string& name, int64_t k, int64_t rows, int64_t n_expert);
  // Repacks `m` if the options ask for it and its type and shape allow.
  // `release`: drop the original's pages from the process afterwards (right
  // for file mappings, which re-read on access; wrong for heap copies).
  void Pack(kernels::Matrix* m, bool release = true);
  // The packed copies, for the model to own (null when nothing was packed).
  std::unique_ptr<kernels::PackedWeights> TakePacked();
  uint64_t packed_bytes() const { return packed_ ? packed_->bytes() : 0; }
  double pack_seconds() const { return pack_seconds_; }
  // A 1-D tensor of n values (norm weights, biases), converted to float.
  StatusOr<std::vector<float>> Vector(const std::string& name, int64_t n);

  // The same two, into *out, for loaders that fill a struct field by field.
  [[nodiscard]] Status Load(const std::string& name, int64_t k, int64_t rows, kernels::Matrix* out, bool pack = true);
  [[nodiscard]] Status Load(const std::string& name, int64_t n, std::vector<float>* out);

  uint64_t bytes() const { return bytes_; }
  const gguf::File& file() const { return f_; }

 private:
  StatusOr<const gguf::TensorInfo*> Find(const std::string& name, const std::vector<int64_t>& ne);

  const gguf::File& f_;
  uint64_t bytes_ = 0;
  bool repack_ = false;
  ThreadPool* pool_ = nullptr;
  std::unique_ptr<ThreadPool> own_pool_;
  std::unique_ptr<kernels::PackedWeights> packed_;
  double pack_seconds_ = 0;
};

// A matrix converted at load time from the file's layout (n_rows rows of k
// floats), stored in a type that loses nothing against the source when the
// source is a float type, and as Q8_0 (row length permitting) when it is
// quantized. The bytes live in a new element of `storage`, which the model owns.
kernels::Matrix DerivedMatrix(const std::vector<float>& rows, int64_t k, int64_t n_rows, GgmlType src,
                              std::vector<std::vector<uint8_t>>& storage);

// All of m's rows as floats.
std::vector<float> ToFloat(const kernels::Matrix& m);

}  // namespace r1
