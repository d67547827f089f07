// Deterministic random numbers for the synthetic model generators.
#pragma once

#include <cstdint>
#include <string>

namespace r1 {

// SplitMix64, with an approximately normal draw (the sum of four uniforms,
// scaled to unit variance). Seeded per tensor (and row) by name, so weights
// do not depend on the order tensors are written in.
struct SyntheticRng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float Normal() {
    float sum = 0;
    for (int i = 0; i < 4; ++i) sum += static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f);
    return (sum - 2.0f) * 1.7320508f;
  }
};

// FNV-1a of a tensor name, mixed with the model seed.
inline uint64_t SyntheticSeed(const std::string& name, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

}  // namespace r1
