// Test helpers: synthetic models on disk and the float64 numpy reference.
#pragma once

#include <string>
#include <vector>

#include "models/synthetic/synthetic.h"
#include "r1/status.h"

namespace r1::testing {

// Writes `spec` to R1_BINARY_DIR/testmodels/<name>.gguf (once per process) and returns the path.
std::string SyntheticModelPath(const std::string& name, const SyntheticSpec& spec);

// True if /usr/bin/python3 with numpy is available (otherwise tests skip).
bool HaveNumpyReference();

// Runs tests/ref/reference.py on `model` for each sequence (each from
// position 0). Returns float64 logits, row-major [total tokens, n_vocab].
StatusOr<std::vector<double>> ReferenceLogits(const std::string& model, const std::vector<std::vector<int32_t>>& seqs,
                                              const std::string& extra_args = "");

// A small test shape whose rows are multiples of 256 so every K-quant applies.
SyntheticSpec SmallSpec(const std::string& arch, GgmlType type, bool q4_k_m = false);

}  // namespace r1::testing
