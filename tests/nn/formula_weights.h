// The counter-based uniforms the golden generators draw model weights from
// (tests/golden/gen/gen_resnet.py `uniforms`), so a fixture holds inputs and outputs but not
// the weights: u_i = splitmix64(fnv1a64(key) + i * golden ratio) >> 11, scaled to [0, 1).
#pragma once
#include <cstdint>
#include <string>

namespace marrow::test {

inline uint64_t fnv1a64(const std::string& text) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned char b : text) h = (h ^ b) * 0x100000001B3ull;
    return h;
}

// The i-th uniform in [0, 1) of the stream seeded by fnv1a64(key).
inline double formula_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-53;
}

}  // namespace marrow::test
