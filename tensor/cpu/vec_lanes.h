// Float vectors of W lanes (GCC vector extensions; W = 16 for AVX-512, 8 for AVX2, 4 for SSE2:
// one register each, wider vectors spill when the ISA lacks them) and the row extremum built
// on them (row max, row exp-sum), for the vectorized CPU kernels (tensor/cpu/vec_*.cpp). Only for files compiled per
// ISA with always-inlined helpers.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "tensor/cpu/vec_math.h"

namespace marrow::cpu {

template <int W>
struct LanesOf {
    typedef float type __attribute__((vector_size(W * sizeof(float))));
};
template <int W>
using Lanes = typename LanesOf<W>::type;

// Lanes values pass between always-inlined helpers only, so the vector ABI never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

template <int W>
MARROW_VEC_INLINE Lanes<W> load(const float* p) {
    Lanes<W> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// The row's maximum (or minimum), NaN if it holds one. Explicit vectors with one
// compare-and-blend per accumulator (a combined "greater or NaN" mask does not compile to a
// blend).
template <int W, bool Max>
MARROW_VEC_INLINE float row_extremum(const float* __restrict x, int64_t d) {
    const float start =
        Max ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
    Lanes<W> m = Lanes<W>{} + start, nan = Lanes<W>{};
    int64_t full = d / W * W;
    for (int64_t i = 0; i < full; i += W) {
        Lanes<W> v = load<W>(x + i);
        if constexpr (Max)
            m = v > m ? v : m;
        else
            m = v < m ? v : m;
        nan = v != v ? v : nan;
    }
    float r = start;
    bool any_nan = false;
    for (int l = 0; l < W; ++l) {
        r = (Max ? m[l] > r : m[l] < r) ? m[l] : r;
        any_nan |= nan[l] != nan[l];
    }
    for (int64_t i = full; i < d; ++i) {
        r = (Max ? x[i] > r : x[i] < r) ? x[i] : r;
        any_nan |= x[i] != x[i];
    }
    return any_nan ? std::numeric_limits<float>::quiet_NaN() : r;
}
template <int W>
MARROW_VEC_INLINE float row_max(const float* __restrict x, int64_t d) {
    return row_extremum<W, true>(x, d);
}
// sum_j exp(s_j - shift) over a row of n <= a few thousand (shift >= every s_j: the row max),
// the exps written to p (which stays in L1) for the caller's next pass: attention's and
// NT-Xent's row softmax.
template <int W>
MARROW_VEC_INLINE float exp_sum_body(const float* __restrict s, float* __restrict p, int64_t n,
                                     float shift) {
    for (int64_t j = 0; j < n; ++j) p[j] = vexp_neg(s[j] - shift);
    Lanes<W> acc = {};
    int64_t full = n / W * W;
    for (int64_t j = 0; j < full; j += W) acc += load<W>(p + j);
    float r = 0;
    for (int l = 0; l < W; ++l) r += acc[l];
    for (int64_t j = full; j < n; ++j) r += p[j];
    return r;
}

}  // namespace marrow::cpu
