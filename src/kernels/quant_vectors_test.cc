// The block formats against the reference engine: blocks made by ggml's own
// quantizer (ggml_quantize_chunk) and ggml's dequantization of them, recorded
// in testdata/quant/*.bin (README.md there says how they were made and how to
// regenerate them). For every type r1 computes with:
//   * Dequantize must reproduce ggml's element values bit for bit;
//   * every dot kernel (reference and SIMD) on those blocks must agree with a
//     float64 dot of ggml's values;
//   * r1's own quantizer, on the same source rows, must reach an RMSE within
//     the stated factor of ggml's (the figures are recorded as properties);
//     skipped for the types r1 cannot make (!CanQuantize: IQ1/IQ2/IQ3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/quant.h"

#ifndef R1_SOURCE_DIR
#error "R1_SOURCE_DIR must be defined by the build"
#endif

namespace r1::kernels {
namespace {

struct Vectors {
  std::string name;
  GgmlType type;
  int rows = 0, cols = 0;
  bool has_imatrix = false;
  std::vector<float> src, imatrix, dequant;
  std::vector<uint8_t> blocks;
  double rmse = 0;
};

template <typename T>
bool Read(std::ifstream& f, T* v, size_t n = 1) {
  return static_cast<bool>(f.read(reinterpret_cast<char*>(v), static_cast<std::streamsize>(n * sizeof(T))));
}

std::filesystem::path Dir() { return std::filesystem::path(R1_SOURCE_DIR) / "src/kernels/testdata/quant"; }

std::vector<Vectors> LoadAll() {
  std::vector<Vectors> all;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(Dir()))
    if (e.path().extension() == ".bin") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    std::ifstream f(p, std::ios::binary);
    char magic[8];
    uint32_t type = 0, rows = 0, cols = 0, imat = 0;
    uint64_t nbytes = 0;
    Vectors v;
    v.name = p.stem().string();
    EXPECT_TRUE(Read(f, magic, 8) && std::memcmp(magic, "R1QVEC1", 8) == 0) << p;
    EXPECT_TRUE(Read(f, &type) && Read(f, &rows) && Read(f, &cols) && Read(f, &imat) && Read(f, &nbytes)) << p;
    v.type = static_cast<GgmlType>(type);
    v.rows = static_cast<int>(rows);
    v.cols = static_cast<int>(cols);
    v.has_imatrix = imat != 0;
    const size_t n = static_cast<size_t>(rows) * cols;
    v.src.resize(n);
    v.dequant.resize(n);
    v.blocks.resize(nbytes);
    EXPECT_TRUE(Read(f, v.src.data(), n)) << p;
    if (v.has_imatrix) {
      v.imatrix.resize(cols);
      EXPECT_TRUE(Read(f, v.imatrix.data(), cols)) << p;
    }
    EXPECT_TRUE(Read(f, v.blocks.data(), nbytes) && Read(f, v.dequant.data(), n) && Read(f, &v.rmse)) << p;
    EXPECT_EQ(nbytes, rows * GgmlRowSize(v.type, cols)) << p;
    all.push_back(std::move(v));
  }
  return all;
}

const std::vector<Vectors>& All() {
  static const std::vector<Vectors> all = LoadAll();
  return all;
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(QuantVectors, FilesArePresent) {
  // One file per type in the README's table, at least.
  EXPECT_GE(All().size(), 21u);
}

TEST(QuantVectors, DequantizationIsBitIdenticalToGgml) {
  int checked = 0;
  for (const Vectors& v : All()) {
    if (!IsSupported(v.type)) continue;
    SCOPED_TRACE(v.name);
    const size_t row_bytes = GgmlRowSize(v.type, v.cols);
    std::vector<float> y(v.cols);
    for (int r = 0; r < v.rows; ++r) {
      Dequantize(v.type, v.blocks.data() + r * row_bytes, y.data(), v.cols);
      for (int c = 0; c < v.cols; ++c)
        ASSERT_EQ(Bits(y[c]), Bits(v.dequant[static_cast<size_t>(r) * v.cols + c]))
            << "row " << r << " col " << c << ": r1 " << y[c] << ", ggml " << v.dequant[r * v.cols + c];
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(All().size()));  // every type in the README is supported
  RecordProperty("files_checked", checked);
}

// Every available path's dot of ggml's blocks against a quantized activation
// row equals the float64 dot of ggml's dequantized values and the activation's
// dequantized values, to float rounding.
TEST(QuantVectors, DotKernelsOnGgmlBlocks) {
  std::mt19937 rng(11);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  for (const Vectors& v : All()) {
    if (!IsSupported(v.type)) continue;
    SCOPED_TRACE(v.name);
    const GgmlType at = VecDotType(v.type);
    std::vector<float> xf(v.cols), xd(v.cols);
    for (auto& x : xf) x = gauss(rng);
    std::vector<uint8_t> xq(GgmlRowSize(at, v.cols));
    Quantize(at, xf.data(), xq.data(), v.cols);
    Dequantize(at, xq.data(), xd.data(), v.cols);
    const size_t row_bytes = GgmlRowSize(v.type, v.cols);
    for (KernelPath p : {KernelPath::kRef, KernelPath::kAvx2, KernelPath::kAvx512}) {
      const DotKernels k = PathKernels(p, v.type);
      if (k.dot == nullptr) continue;
      double worst = 0;  // max |got - exact| / sum |w x| over the rows
      for (int r = 0; r < v.rows; ++r) {
        double exact = 0, mag = 0;
        for (int c = 0; c < v.cols; ++c) {
          const double w = v.dequant[static_cast<size_t>(r) * v.cols + c];
          exact += w * xd[c];
          mag += std::fabs(w * xd[c]);
        }
        const float got = k.dot(v.cols, v.blocks.data() + r * row_bytes, xq.data());
        EXPECT_NEAR(got, exact, 2e-5 * mag + 1e-30) << KernelPathName(p) << " row " << r;
        worst = std::max(worst, std::fabs(got - exact) / (mag + 1e-30));
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g", worst);
      RecordProperty(v.name + "_" + KernelPathName(p) + "_max_rel_err", buf);
    }
  }
}

// r1's quantizer on ggml's source rows (no importance matrix: r1 quantizes
// without one). The factor is the measured worst case rounded up; the README
// table states each type's figures.
TEST(QuantVectors, QuantizerRmseAgainstGgml) {
  for (const Vectors& v : All()) {
    // Types r1 computes with but cannot make (the IQ1/IQ2/IQ3 codebooks).
    if (!CanQuantize(v.type) || v.has_imatrix) continue;
    if (v.type == GgmlType::F32 || v.type == GgmlType::F16 || v.type == GgmlType::BF16) continue;
    SCOPED_TRACE(v.name);
    const size_t n = v.src.size();
    std::vector<uint8_t> q(v.rows * GgmlRowSize(v.type, v.cols));
    std::vector<float> y(n);
    Quantize(v.type, v.src.data(), q.data(), static_cast<int64_t>(n));
    Dequantize(v.type, q.data(), y.data(), static_cast<int64_t>(n));
    double se = 0;
    for (size_t i = 0; i < n; ++i) se += (double(y[i]) - v.src[i]) * (double(y[i]) - v.src[i]);
    const double rmse = std::sqrt(se / static_cast<double>(n));
    const double ratio = rmse / v.rmse;
    RecordProperty(v.name + "_rmse_ratio", std::to_string(ratio));
    std::printf("%-10s r1 %.6f ggml %.6f ratio %.3f\n", v.name.c_str(), rmse, v.rmse, ratio);
    EXPECT_LT(ratio, 1.02) << "r1 " << rmse << " vs ggml " << v.rmse;  // the 2%
  }
}

// With ggml's importance matrix: r1's weighted quantizer against ggml's blocks
// made with the same matrix, by the error both minimise (llama.cpp's: element
// j of a row weighs imatrix[j] sqrt(sigma^2 + x_j^2), sigma^2 the row's mean
// square), and against r1's own unweighted blocks, which it must beat (the
// matrix is used, and helps).
double WeightedSe(const Vectors& v, const std::vector<float>& y) {
  double se = 0;
  for (int r = 0; r < v.rows; ++r) {
    const float* x = v.src.data() + static_cast<size_t>(r) * v.cols;
    double s2 = 0;
    for (int c = 0; c < v.cols; ++c) s2 += double(x[c]) * x[c];
    const double sigma2 = s2 / v.cols;
    for (int c = 0; c < v.cols; ++c) {
      const double e = double(y[static_cast<size_t>(r) * v.cols + c]) - x[c];
      se += v.imatrix[c] * std::sqrt(sigma2 + double(x[c]) * x[c]) * e * e;
    }
  }
  return se;
}

TEST(QuantVectors, WeightedQuantizerUsesTheImatrix) {
  for (const Vectors& v : All()) {
    if (!CanQuantize(v.type) || !v.has_imatrix) continue;
    if (v.type == GgmlType::Q8_0 || v.type == GgmlType::TQ1_0 || v.type == GgmlType::TQ2_0) continue;
    SCOPED_TRACE(v.name);
    const size_t n = v.src.size(), row_bytes = GgmlRowSize(v.type, v.cols);
    std::vector<uint8_t> q(v.rows * row_bytes), q0(v.rows * row_bytes);
    std::vector<float> y(n), y0(n);
    for (int r = 0; r < v.rows; ++r) {
      const float* x = v.src.data() + static_cast<size_t>(r) * v.cols;
      QuantizeWeighted(v.type, x, q.data() + r * row_bytes, v.cols, v.imatrix.data());
      Quantize(v.type, x, q0.data() + r * row_bytes, v.cols);
    }
    Dequantize(v.type, q.data(), y.data(), static_cast<int64_t>(n));
    Dequantize(v.type, q0.data(), y0.data(), static_cast<int64_t>(n));
    const double ours = WeightedSe(v, y), unweighted = WeightedSe(v, y0), ggml = WeightedSe(v, v.dequant);
    const double ratio = std::sqrt(ours / ggml);
    RecordProperty(v.name + "_weighted_ratio", std::to_string(ratio));
    std::printf("%-16s weighted rmse r1 %.6f (unweighted r1 %.6f) ggml %.6f ratio %.3f\n", v.name.c_str(),
                std::sqrt(ours / n), std::sqrt(unweighted / n), std::sqrt(ggml / n), ratio);
    EXPECT_LT(ours, unweighted);
    EXPECT_LT(ratio, 1.05) << "r1 " << ours << " vs ggml " << ggml;
  }
}

}  // namespace
}  // namespace r1::kernels
