// Vectorized float32 softmax / log_softmax and logsumexp over contiguous rows
// (tensor/cpu/vec_kernels.h).
// Per row: a max pass, an exp pass into y, a sum pass, a scaling pass, over data that stays
// in L1/L2 for typical rows; one exp per element. Maxima and sums run in one vector register of
// W lanes (the ISA's width) combined in a fixed order at the end, so the loops vectorize without
// reassociation flags and results do not depend on thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/cpu/vec_math.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

// The lanes are the float32 accumulators of Note [Accumulator type]: sums of float32 run in
// float, W of them, combined in a fixed order.
static_assert(std::is_same_v<acc_t<float>, float>, "vector sums assume float accumulators");

// sum_i a_i, and sum_i a_i b_i, in W accumulators combined in a fixed order.
template <int W>
MARROW_VEC_INLINE float horizontal(const Lanes<W>& s) {
    float r = 0;
    for (int l = 0; l < W; ++l) r += s[l];
    return r;
}
template <int W>
MARROW_VEC_INLINE float lane_sum(const float* __restrict a, int64_t d) {
    Lanes<W> s = {};
    int64_t full = d / W * W;
    for (int64_t i = 0; i < full; i += W) s += load<W>(a + i);
    float r = horizontal<W>(s);
    for (int64_t i = full; i < d; ++i) r += a[i];
    return r;
}
template <int W>
MARROW_VEC_INLINE float lane_dot(const float* __restrict a, const float* __restrict b, int64_t d) {
    Lanes<W> s = {};
    int64_t full = d / W * W;
    for (int64_t i = 0; i < full; i += W) s += load<W>(a + i) * load<W>(b + i);
    float r = horizontal<W>(s);
    for (int64_t i = full; i < d; ++i) r += a[i] * b[i];
    return r;
}

template <int W>
MARROW_VEC_INLINE void rows_body(bool log, const float* __restrict x, float* __restrict y,
                                 int64_t rows, int64_t d) {
    for (int64_t r = 0; r < rows; ++r, x += d, y += d) {
        float mx = row_max<W>(x, d);
        if (std::isinf(mx) && mx < 0) mx = 0;  // a row of all -inf gives NaN, as in PyTorch
        for (int64_t i = 0; i < d; ++i) y[i] = vexp_neg(x[i] - mx);
        float sum = lane_sum<W>(y, d);
        if (log) {
            float shift = mx + std::log(sum);
            for (int64_t i = 0; i < d; ++i) y[i] = x[i] - shift;
        } else {
            float inv = 1.0f / sum;
            for (int64_t i = 0; i < d; ++i) y[i] *= inv;
        }
    }
}

// softmax:     gx = y (g - sum_k g_k y_k);  log_softmax: gx = g - e^y sum_k g_k
template <int W>
MARROW_VEC_INLINE void backward_body(bool log, const float* __restrict y, const float* __restrict g,
                                     float* __restrict gx, int64_t rows, int64_t d) {
    for (int64_t r = 0; r < rows; ++r, y += d, g += d, gx += d) {
        if (log) {
            float total = lane_sum<W>(g, d);
            for (int64_t i = 0; i < d; ++i) gx[i] = g[i] - vexp(y[i]) * total;
        } else {
            float dot = lane_dot<W>(g, y, d);
            for (int64_t i = 0; i < d; ++i) gx[i] = y[i] * (g[i] - dot);
        }
    }
}

// One pass over memory (online max-and-sum, Milakov & Gimelshein 2018, at the grain of a
// chunk): each chunk of kChunk floats, hot in L1, gets its maximum; when it raises the running
// maximum the running sum is rescaled by exp(old - new); then the chunk's exps are summed in
// lanes. One exp per element plus one per chunk.
template <int W>
MARROW_VEC_INLINE RowLse lse_body(const float* __restrict x, int64_t n) {
    constexpr int64_t kChunk = 512;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    alignas(64) float e[kChunk];
    float m = -kInf, s = 0;
    for (int64_t c = 0; c < n; c += kChunk) {
        int64_t len = std::min(kChunk, n - c);
        float cm = row_max<W>(x + c, len);
        if (cm != cm) return {cm, 0};  // NaN anywhere: NaN
        if (cm > m) {
            s *= vexp(m - cm);  // m = -inf: s is 0 and stays 0
            m = cm;
        }
        if (std::isinf(m)) continue;  // all -inf so far, or +inf (the answer unless a NaN follows)
        for (int64_t i = 0; i < len; ++i) e[i] = vexp_neg(x[c + i] - m);
        s += lane_sum<W>(e, len);
    }
    return {m, s};
}

MARROW_TARGET_AVX512 RowLse lse_avx512(const float* x, int64_t n) { return lse_body<16>(x, n); }
MARROW_TARGET_AVX2 RowLse lse_avx2(const float* x, int64_t n) { return lse_body<8>(x, n); }
RowLse lse_base(const float* x, int64_t n) { return lse_body<4>(x, n); }

MARROW_TARGET_AVX512 void rows_avx512(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body<16>(log, x, y, rows, d);
}
MARROW_TARGET_AVX2 void rows_avx2(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body<8>(log, x, y, rows, d);
}
void rows_base(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body<4>(log, x, y, rows, d);
}
MARROW_TARGET_AVX512 void backward_avx512(bool log, const float* y, const float* g, float* gx,
                                          int64_t rows, int64_t d) {
    backward_body<16>(log, y, g, gx, rows, d);
}
MARROW_TARGET_AVX2 void backward_avx2(bool log, const float* y, const float* g, float* gx,
                                      int64_t rows, int64_t d) {
    backward_body<8>(log, y, g, gx, rows, d);
}
void backward_base(bool log, const float* y, const float* g, float* gx, int64_t rows, int64_t d) {
    backward_body<4>(log, y, g, gx, rows, d);
}

}  // namespace

RowLseFn fast_row_logsumexp() { return for_isa<RowLseFn>(lse_avx512, lse_avx2, lse_base); }

SoftmaxRows fast_softmax_rows() { return for_isa<SoftmaxRows>(rows_avx512, rows_avx2, rows_base); }

SoftmaxBackwardRows fast_softmax_backward_rows() {
    return for_isa<SoftmaxBackwardRows>(backward_avx512, backward_avx2, backward_base);
}

}  // namespace marrow::cpu
