// Llama 3.x (DeepSeek-R1-Distill-Llama-8B/70B).
//
// Differences from the shared dense decoder's defaults:
//   - "normal" (interleaved-pair) rope: llama.cpp's converter permutes the
//     Q/K rows of HF's rotate_half layout so that adjacent pairs rotate;
//   - Llama 3.1's rope scaling ("llama3": low frequencies divided by the
//     factor, a smooth blend in between) is stored by the converter as the
//     per-dimension divisors rope_freqs.weight, which we apply as given.
#include "models/dense.h"

namespace r1 {

StatusOr<std::unique_ptr<Model>> LoadLlama(const gguf::File& f, const LoadOptions& o) {
  DenseSpec spec;
  spec.arch = "llama";
  spec.rope_style = kernels::RopeStyle::kNormal;
  spec.rope_freqs = true;
  return LoadDense(f, spec, o);
}

}  // namespace r1
