// llama.cpp's importance matrices (llama-imatrix): for each weight matrix,
// the sum over the calibration tokens of the square of each input column
// (x_j², j < ne[0]), and how many tokens were summed. Quantizers weight each
// column's error by its mean square input, so the columns that carry large
// activations are kept precise.
//
// Two file forms, both read here:
//   * GGUF (llama.cpp since mid 2025, the default): general.type "imatrix",
//     imatrix.datasets (string array), imatrix.chunk_count and
//     imatrix.chunk_size (u32); per weight W two F32 tensors, "W.in_sum2"
//     [ne0, n_mat] and "W.counts" [1, n_mat] (n_mat: the experts of a 3-D
//     weight, else 1).
//   * legacy .dat: i32 n_entries, then per entry i32 name length, the name,
//     i32 ncall, i32 nval, f32 values[nval] (the mean square times ncall);
//     then optionally i32 chunk count, i32 length and the dataset name.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "r1/status.h"

namespace r1::gguf {

struct ImatrixEntry {
  std::vector<float> sums;    // [n_mat][values per matrix]
  std::vector<float> counts;  // [n_mat] tokens summed into each matrix

  int64_t n_mat() const { return static_cast<int64_t>(counts.size()); }
  int64_t per_mat() const { return counts.empty() ? 0 : static_cast<int64_t>(sums.size() / counts.size()); }
  // The mean square input per value: sums / counts, and 1 for a matrix that
  // never saw a token (an expert no calibration token was routed to), as
  // llama.cpp's quantize does.
  std::vector<float> Mean() const;
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight name ("blk.0.attn_q.weight")
  std::vector<std::string> datasets;
  int64_t chunk_count = 0;
  int64_t chunk_size = 0;

  const ImatrixEntry* Find(const std::string& weight) const;
};

// Reads either form (a GGUF by its magic, else legacy). Errors name the file
// and the entry or field that is wrong.
[[nodiscard]] StatusOr<Imatrix> ReadImatrix(const std::string& path);
// The GGUF form.
[[nodiscard]] Status WriteImatrix(const Imatrix& m, const std::string& path);
// The legacy form (llama-imatrix --output-format dat).
[[nodiscard]] Status WriteImatrixLegacy(const Imatrix& m, const std::string& path);

}  // namespace r1::gguf
