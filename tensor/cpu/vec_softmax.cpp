// Vectorized float32 softmax / log_softmax over contiguous rows (tensor/cpu/vec_kernels.h).
// Per row: a max pass, an exp-and-sum pass (storing the exponentials for softmax), a scaling
// pass, over data that stays in L1/L2 for typical rows; one exp per element. Maxima and sums
// run in kLanes independent accumulators combined in a fixed order at the end, so the loops
// vectorize without reassociation flags and results do not depend on thread count.
#include <cmath>
#include <limits>

#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_math.h"

namespace marrow::cpu {
namespace {

constexpr int64_t kLanes = 16;

MARROW_VEC_INLINE float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

MARROW_VEC_INLINE float row_max(const float* __restrict x, int64_t d) {
    float m[kLanes];
    for (int64_t l = 0; l < kLanes; ++l) m[l] = -std::numeric_limits<float>::infinity();
    int64_t full = d / kLanes * kLanes;
    for (int64_t i = 0; i < full; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) m[l] = nan_max(m[l], x[i + l]);
    for (int64_t i = full; i < d; ++i) m[0] = nan_max(m[0], x[i]);
    float r = m[0];
    for (int64_t l = 1; l < kLanes; ++l) r = nan_max(r, m[l]);
    return r;
}

// sum_i e^(x_i - mx), storing the exponentials in y when y is not null.
MARROW_VEC_INLINE float exp_sum(const float* __restrict x, float* __restrict y, float mx,
                                int64_t d) {
    float s[kLanes] = {};
    int64_t full = d / kLanes * kLanes;
    for (int64_t i = 0; i < full; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) {
            float e = vexp(x[i + l] - mx);
            if (y) y[i + l] = e;
            s[l] += e;
        }
    for (int64_t i = full; i < d; ++i) {
        float e = vexp(x[i] - mx);
        if (y) y[i] = e;
        s[0] += e;
    }
    float r = 0;
    for (int64_t l = 0; l < kLanes; ++l) r += s[l];
    return r;
}

MARROW_VEC_INLINE float dot_lanes(const float* __restrict a, const float* __restrict b,
                                  int64_t d) {  // b null: sum of a
    float s[kLanes] = {};
    int64_t full = d / kLanes * kLanes;
    for (int64_t i = 0; i < full; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) s[l] += b ? a[i + l] * b[i + l] : a[i + l];
    for (int64_t i = full; i < d; ++i) s[0] += b ? a[i] * b[i] : a[i];
    float r = 0;
    for (int64_t l = 0; l < kLanes; ++l) r += s[l];
    return r;
}

MARROW_VEC_INLINE void rows_body(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    for (int64_t r = 0; r < rows; ++r, x += d, y += d) {
        float mx = row_max(x, d);
        if (std::isinf(mx) && mx < 0) mx = 0;  // a row of all -inf gives NaN, as in PyTorch
        if (log) {
            float shift = mx + std::log(exp_sum(x, nullptr, mx, d));
            for (int64_t i = 0; i < d; ++i) y[i] = x[i] - shift;
        } else {
            float inv = 1.0f / exp_sum(x, y, mx, d);
            for (int64_t i = 0; i < d; ++i) y[i] *= inv;
        }
    }
}

// softmax:     gx = y (g - sum_k g_k y_k);  log_softmax: gx = g - e^y sum_k g_k
MARROW_VEC_INLINE void backward_body(bool log, const float* y, const float* g, float* gx,
                                     int64_t rows, int64_t d) {
    for (int64_t r = 0; r < rows; ++r, y += d, g += d, gx += d) {
        if (log) {
            float total = dot_lanes(g, nullptr, d);
            for (int64_t i = 0; i < d; ++i) gx[i] = g[i] - vexp(y[i]) * total;
        } else {
            float dot = dot_lanes(g, y, d);
            for (int64_t i = 0; i < d; ++i) gx[i] = y[i] * (g[i] - dot);
        }
    }
}

MARROW_TARGET_AVX512 void rows_avx512(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body(log, x, y, rows, d);
}
MARROW_TARGET_AVX2 void rows_avx2(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body(log, x, y, rows, d);
}
void rows_base(bool log, const float* x, float* y, int64_t rows, int64_t d) {
    rows_body(log, x, y, rows, d);
}
MARROW_TARGET_AVX512 void backward_avx512(bool log, const float* y, const float* g, float* gx,
                                          int64_t rows, int64_t d) {
    backward_body(log, y, g, gx, rows, d);
}
MARROW_TARGET_AVX2 void backward_avx2(bool log, const float* y, const float* g, float* gx,
                                      int64_t rows, int64_t d) {
    backward_body(log, y, g, gx, rows, d);
}
void backward_base(bool log, const float* y, const float* g, float* gx, int64_t rows, int64_t d) {
    backward_body(log, y, g, gx, rows, d);
}

}  // namespace

SoftmaxRows fast_softmax_rows() {
    switch (cpu_isa()) {
        case Isa::avx512:
            return rows_avx512;
        case Isa::avx2:
            return rows_avx2;
        case Isa::base:
            break;
    }
    return rows_base;
}

SoftmaxBackwardRows fast_softmax_backward_rows() {
    switch (cpu_isa()) {
        case Isa::avx512:
            return backward_avx512;
        case Isa::avx2:
            return backward_avx2;
        case Isa::base:
            break;
    }
    return backward_base;
}

}  // namespace marrow::cpu
