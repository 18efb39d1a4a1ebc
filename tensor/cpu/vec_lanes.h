// 16-lane float vectors (GCC vector extensions: one zmm, two ymm or four xmm) and the row
// maximum built on them, for the vectorized CPU kernels (tensor/cpu/vec_*.cpp). Only for files
// compiled per ISA with always-inlined helpers.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "tensor/cpu/vec_math.h"

namespace marrow::cpu {

constexpr int64_t kLanes = 16;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));  // 1 zmm, 2 ymm, 4 xmm

// Lanes values pass between always-inlined helpers only, so the vector ABI never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

MARROW_VEC_INLINE Lanes load(const float* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// The row's maximum (or minimum), NaN if it holds one. Explicit vectors with one
// compare-and-blend per accumulator (a combined "greater or NaN" mask does not compile to a
// blend).
template <bool Max>
MARROW_VEC_INLINE float row_extremum(const float* __restrict x, int64_t d) {
    const float start =
        Max ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
    Lanes m = Lanes{} + start, nan = Lanes{};
    int64_t full = d / kLanes * kLanes;
    for (int64_t i = 0; i < full; i += kLanes) {
        Lanes v = load(x + i);
        if constexpr (Max)
            m = v > m ? v : m;
        else
            m = v < m ? v : m;
        nan = v != v ? v : nan;
    }
    float r = start;
    bool any_nan = false;
    for (int64_t l = 0; l < kLanes; ++l) {
        r = (Max ? m[l] > r : m[l] < r) ? m[l] : r;
        any_nan |= nan[l] != nan[l];
    }
    for (int64_t i = full; i < d; ++i) {
        r = (Max ? x[i] > r : x[i] < r) ? x[i] : r;
        any_nan |= x[i] != x[i];
    }
    return any_nan ? std::numeric_limits<float>::quiet_NaN() : r;
}
MARROW_VEC_INLINE float row_max(const float* __restrict x, int64_t d) {
    return row_extremum<true>(x, d);
}

}  // namespace marrow::cpu
