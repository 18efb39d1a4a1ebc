// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator behind every random op. Note [Philox stream]: element i of a draw
// made at (seed, offset) comes from block (offset + i / 4), lane i % 4, with key = seed. The
// value depends only on (seed, offset, i), never on thread count or device, so CPU, CUDA and
// the SIMT simulator produce the same numbers. A draw of n elements advances offset by
// ceil(n / 4). Written as plain inline functions so .cu kernels can include it.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/math/host_device.h"

namespace marrow::philox {

struct Block {
    uint32_t v[4];
};

MARROW_HOST_DEVICE inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    uint64_t p = uint64_t(a) * uint64_t(b);
    hi = uint32_t(p >> 32);
    lo = uint32_t(p);
}

// The four 32-bit outputs of block `counter` under `seed`.
MARROW_HOST_DEVICE inline Block generate(uint64_t seed, uint64_t counter) {
    constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
    constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
    uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(kM0, c0, hi0, lo0);
        mulhilo(kM1, c2, hi1, lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += kW0;
        k1 += kW1;
    }
    return Block{{c0, c1, c2, c3}};
}

// Uniform in [0, 1): 24 random bits for float (exactly representable), 32 for double.
MARROW_HOST_DEVICE inline float to_unit_float(uint32_t u) { return float(u >> 8) * 0x1p-24f; }
MARROW_HOST_DEVICE inline double to_unit_double(uint32_t u) { return double(u) * 0x1p-32; }

// Box-Muller on lanes (0,1) -> normals 0,1 and lanes (2,3) -> normals 2,3 of a block.
MARROW_HOST_DEVICE inline double normal_from_block(const Block& b, int lane) {
    int pair = lane / 2;
    double u1 = (double(b.v[2 * pair]) + 1.0) * 0x1p-32;  // (0, 1]: log is finite
    double u2 = double(b.v[2 * pair + 1]) * 0x1p-32;
    double r = std::sqrt(-2.0 * std::log(u1));
    double theta = 6.283185307179586476925 * u2;
    return (lane % 2 == 0) ? r * std::cos(theta) : r * std::sin(theta);
}

// Lane `lane` of block `b` as a sample: kind 0 uniform [a, b) (24 random bits for float, 32
// for double), 1 normal (mean a, std b), 2 integer in [a, b). The CPU and CUDA random
// kernels both call this, so they produce the same values.
template <typename T>
MARROW_HOST_DEVICE inline T sample(int kind, const Block& bits, int lane, double a, double b) {
    double v;
    if (kind == 1) {
        v = a + b * normal_from_block(bits, lane);
    } else if (kind == 2) {
        uint64_t range = uint64_t(b - a);
        v = a + double((uint64_t(bits.v[lane]) * range) >> 32);
    } else if (sizeof(T) == 8) {
        v = a + (b - a) * to_unit_double(bits.v[lane]);
    } else {
        v = a + (b - a) * double(to_unit_float(bits.v[lane]));
    }
    return T(v);
}

}  // namespace marrow::philox
