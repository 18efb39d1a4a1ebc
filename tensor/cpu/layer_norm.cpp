// CPU layer normalization, forward and backward, over x: (M, N) contiguous, each row over its
// N values. Formulas and the derivation of dx: autograd/functions/layer_norm.cpp.
//
//   reference   (readable loops, any float dtype): per row the mean, then the sum of squared
//               deviations from it (two passes), then y; in acc_t<T> (Note [Accumulator type]).
//               Backward: per row sum(g w) and sum(g w (x - mean)), then dx; dweight and
//               dbias as column sums over the rows in row order.
//   version 1   (float32 and float64, the production path): one pass of statistics per row,
//               Welford's update in every lane of 4 vectors (the row's elements dealt to the
//               lanes in turn, so all lanes hold equal counts), the 4 W lanes merged by a
//               pairwise tree of Chan's update, the elements past the last full 4 W step
//               (< 4 W) as one more two-pass chunk merged the same way; then y in a second
//               pass that finds the row in L1. x is read once from memory, y written once.
//               Backward: per row one pass for the two sums, one for dx; dweight and dbias
//               accumulate per block of kRowBlock rows into that block's own partial row
//               (no atomics), and the partials are summed over blocks in block order. Vectors
//               of 64/32/16 bytes (AVX-512, AVX2, baseline copies, tensor/cpu/isa.h); OpenMP
//               over row blocks.
// Both are deterministic and independent of the thread count: a row is always one thread's,
// and the row blocks of the column sums are fixed by M alone. tests/ops/test_layer_norm.cpp
// checks version 1 against the reference per ISA, far from zero mean and at odd widths.
#include "tensor/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_math.h"  // MARROW_VEC_INLINE
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

template <typename T>
const T* data_or_null(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}
template <typename T>
T* mutable_or_null(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}

template <typename T>
struct ForwardArgs {
    int64_t m, n;
    T eps;
    const T *x, *weight, *bias;
    T *y, *mean, *rstd;
};

template <typename T>
struct BackwardArgs {
    int64_t m, n;
    const T *x, *g, *mean, *rstd, *weight;
    T *dx, *dweight, *dbias;
};

// The row's rstd from its biased variance.
template <typename T>
inline T rstd_of(T var, T eps) {
    return T(1) / std::sqrt(var + eps);
}

// ---- reference loops

template <typename T>
void forward_reference_row(const ForwardArgs<T>& a, int64_t r) {
    using Acc = acc_t<T>;
    const T* x = a.x + r * a.n;
    T* y = a.y + r * a.n;
    Acc sum = 0;
    for (int64_t j = 0; j < a.n; ++j) sum += Acc(x[j]);
    Acc mean = sum / Acc(a.n);
    Acc m2 = 0;
    for (int64_t j = 0; j < a.n; ++j) m2 += (Acc(x[j]) - mean) * (Acc(x[j]) - mean);
    Acc rstd = rstd_of(m2 / Acc(a.n), Acc(a.eps));
    a.mean[r] = T(mean);
    a.rstd[r] = T(rstd);
    for (int64_t j = 0; j < a.n; ++j) {
        Acc w = a.weight ? Acc(a.weight[j]) : Acc(1), b = a.bias ? Acc(a.bias[j]) : Acc(0);
        y[j] = T((Acc(x[j]) - mean) * rstd * w + b);
    }
}

template <typename T>
void backward_reference_row(const BackwardArgs<T>& a, int64_t r) {
    using Acc = acc_t<T>;
    const T *x = a.x + r * a.n, *g = a.g + r * a.n;
    Acc mean = Acc(a.mean[r]), rstd = Acc(a.rstd[r]);
    Acc sum_a = 0, dot = 0;  // sum(g w), sum(g w (x - mean))
    for (int64_t j = 0; j < a.n; ++j) {
        Acc gw = Acc(g[j]) * (a.weight ? Acc(a.weight[j]) : Acc(1));
        sum_a += gw;
        dot += gw * (Acc(x[j]) - mean);
    }
    // dx = rstd (g w - sum_a / N - xhat dot rstd / N), xhat = (x - mean) rstd
    Acc n = Acc(a.n);
    for (int64_t j = 0; j < a.n; ++j) {
        Acc gw = Acc(g[j]) * (a.weight ? Acc(a.weight[j]) : Acc(1));
        Acc xhat = (Acc(x[j]) - mean) * rstd;
        a.dx[r * a.n + j] = T(rstd * (gw - sum_a / n - xhat * dot * rstd / n));
    }
}

// dweight_j = sum_r g_rj xhat_rj, dbias_j = sum_r g_rj, rows in order.
template <typename T>
void backward_reference_column(const BackwardArgs<T>& a, int64_t j) {
    using Acc = acc_t<T>;
    Acc dw = 0, db = 0;
    for (int64_t r = 0; r < a.m; ++r) {
        Acc gv = Acc(a.g[r * a.n + j]);
        if (a.dweight) dw += gv * (Acc(a.x[r * a.n + j]) - Acc(a.mean[r])) * Acc(a.rstd[r]);
        db += gv;
    }
    if (a.dweight) a.dweight[j] = T(dw);
    if (a.dbias) a.dbias[j] = T(db);
}

// ---- version 1: vectors of W values of T

template <typename T, int W>
struct VecOf {
    typedef T type __attribute__((vector_size(W * sizeof(T))));
};
template <typename T, int W>
using Vec = typename VecOf<T, W>::type;

// Vec values pass between always-inlined helpers only, so the vector ABI never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

template <typename T, int W>
MARROW_VEC_INLINE Vec<T, W> vload(const T* p) {
    Vec<T, W> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <typename T, int W>
MARROW_VEC_INLINE void vstore(T* p, Vec<T, W> v) {
    std::memcpy(p, &v, sizeof v);
}
template <typename T, int W>
MARROW_VEC_INLINE Vec<T, W> splat(T v) {
    return Vec<T, W>{} + v;
}

// (count, mean, M2) of a run, merged with Chan et al.'s update (as WelfordCombine in
// cuda/kernels/block_reduce.h).
template <typename T>
struct Moments {
    int64_t count = 0;
    T mean = 0, m2 = 0;
};
template <typename T>
MARROW_VEC_INLINE Moments<T> merge(Moments<T> a, Moments<T> b) {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    int64_t n = a.count + b.count;
    T delta = b.mean - a.mean, b_share = T(b.count) / T(n);
    return {n, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * T(a.count) * b_share};
}

// Sum of a short run: W lanes, then the scalar rest.
template <typename T, int W, typename F>
MARROW_VEC_INLINE T run_sum(int64_t len, F term) {
    Vec<T, W> acc{};
    int64_t i = 0;
    for (; i + W <= len; i += W) acc += term(i, Vec<T, W>{});
    T r = 0;
    for (int l = 0; l < W; ++l) r += acc[l];
    for (; i < len; ++i) r += term(i, T(0));
    return r;
}

constexpr int kSets = 4;  // accumulator vectors per Welford step: 4 W values per step

// The row's (count, mean, M2) in one pass over memory (see the file header).
template <typename T, int W>
MARROW_VEC_INLINE Moments<T> row_moments(const T* __restrict x, int64_t n) {
    int64_t steps = n / (kSets * W);
    Moments<T> total;
    if (steps > 0) {
        Vec<T, W> mean[kSets] = {}, m2[kSets] = {};
        for (int64_t k = 0; k < steps; ++k) {
            Vec<T, W> inv = splat<T, W>(T(1) / T(k + 1));
            for (int u = 0; u < kSets; ++u) {
                Vec<T, W> v = vload<T, W>(x + (k * kSets + u) * W);
                Vec<T, W> d = v - mean[u];
                mean[u] += d * inv;
                m2[u] += d * (v - mean[u]);
            }
        }
        // Pairwise merges of equal counts c: mean = (a + b) / 2, M2 = M2a + M2b + d^2 c / 2.
        T c = T(steps);
        for (int width = kSets / 2; width >= 1; width /= 2, c *= 2)
            for (int u = 0; u < width; ++u) {
                Vec<T, W> d = mean[u + width] - mean[u];
                mean[u] = (mean[u] + mean[u + width]) * T(0.5);
                m2[u] += m2[u + width] + d * d * (c * T(0.5));
            }
        T lm[W], lm2[W];
        std::memcpy(lm, &mean[0], sizeof lm);
        std::memcpy(lm2, &m2[0], sizeof lm2);
        for (int width = W / 2; width >= 1; width /= 2, c *= 2)
            for (int l = 0; l < width; ++l) {
                T d = lm[l + width] - lm[l];
                lm[l] = (lm[l] + lm[l + width]) * T(0.5);
                lm2[l] += lm2[l + width] + d * d * (c * T(0.5));
            }
        total = {steps * kSets * W, lm[0], lm2[0]};
    }
    // The rest (fewer than kSets W values): two passes over a few cache lines, the mean as a
    // shift (the steps' mean, or the first value) plus the mean of the shifted values, so a
    // row far from zero (1e4 + N(0, 1)) does not lose its mean in a sum of large values.
    const T* rest = x + steps * kSets * W;
    int64_t len = n - steps * kSets * W;
    if (len == 0) return total;
    // always_inline: a lambda returning a vector must not be compiled apart from the ISA
    // function around it (the ASan build's -O1 would otherwise, changing the vector ABI).
    auto at = [rest](int64_t i, auto zero) __attribute__((always_inline)) {
        if constexpr (sizeof(zero) == sizeof(T))
            return rest[i];
        else
            return vload<T, W>(rest + i);
    };
    T shift = total.count > 0 ? total.mean : rest[0];
    T mean = shift +
             run_sum<T, W>(len, [&](int64_t i, auto zero) __attribute__((always_inline)) {
                 return at(i, zero) - shift;
             }) / T(len);
    T m2 = run_sum<T, W>(len, [&](int64_t i, auto zero) __attribute__((always_inline)) {
        auto d = at(i, zero) - mean;
        return d * d;
    });
    return merge(total, Moments<T>{len, mean, m2});
}

// y = (x - mean) rstd w + b over one row, for the affine parameters present.
template <typename T, int W, bool HasW, bool HasB>
MARROW_VEC_INLINE void normalize_row(const T* __restrict x, T* __restrict y, int64_t n, T mean,
                                     T rstd, const T* __restrict w, const T* __restrict b) {
    Vec<T, W> vm = splat<T, W>(mean), vr = splat<T, W>(rstd);
    int64_t j = 0;
    for (; j + W <= n; j += W) {
        Vec<T, W> v = (vload<T, W>(x + j) - vm) * vr;
        if constexpr (HasW) v *= vload<T, W>(w + j);
        if constexpr (HasB) v += vload<T, W>(b + j);
        vstore<T, W>(y + j, v);
    }
    for (; j < n; ++j) {
        T v = (x[j] - mean) * rstd;
        if constexpr (HasW) v *= w[j];
        if constexpr (HasB) v += b[j];
        y[j] = v;
    }
}

template <typename T, int W>
MARROW_VEC_INLINE void forward_rows_v1(const ForwardArgs<T>& a, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const T* x = a.x + r * a.n;
        T* y = a.y + r * a.n;
        Moments<T> s = row_moments<T, W>(x, a.n);
        T rstd = rstd_of(s.m2 / T(a.n), a.eps);
        a.mean[r] = s.mean;
        a.rstd[r] = rstd;
        if (a.weight && a.bias)
            normalize_row<T, W, true, true>(x, y, a.n, s.mean, rstd, a.weight, a.bias);
        else if (a.weight)
            normalize_row<T, W, true, false>(x, y, a.n, s.mean, rstd, a.weight, a.bias);
        else if (a.bias)
            normalize_row<T, W, false, true>(x, y, a.n, s.mean, rstd, a.weight, a.bias);
        else
            normalize_row<T, W, false, false>(x, y, a.n, s.mean, rstd, a.weight, a.bias);
    }
}

// What one row's backward computes, as template flags (one loop per combination, no tests
// inside it): a weight is given; dx, dweight, dbias are wanted.
enum BackwardFlags { kHasW = 1, kDx = 2, kDw = 4, kDb = 8 };

// Backward of one row: dx, and this row's terms added to the block's partial sums pw
// (dweight) and pb (dbias), as Flags says. One pass for the two sums dx needs, then one pass
// that reads g and x once for everything else (the row is in L1 by then).
template <typename T, int W, int Flags>
MARROW_VEC_INLINE void backward_row(const BackwardArgs<T>& a, int64_t r, T* __restrict pw,
                                    T* __restrict pb) {
    constexpr bool has_w = Flags & kHasW, want_dx = Flags & kDx, want_dw = Flags & kDw,
                   want_db = Flags & kDb, centred = want_dx || want_dw;
    const int64_t n = a.n;
    const T* __restrict x = centred ? a.x + r * n : nullptr;
    const T* __restrict g = a.g + r * n;
    const T* __restrict w = a.weight;
    T mean = centred ? a.mean[r] : T(0), rstd = centred ? a.rstd[r] : T(0);
    T* __restrict dx = want_dx ? a.dx + r * n : nullptr;
    Vec<T, W> vm = splat<T, W>(mean), vr = splat<T, W>(rstd);
    auto gw_at = [&](int64_t j) {
        Vec<T, W> v = vload<T, W>(g + j);
        if constexpr (has_w) v *= vload<T, W>(w + j);
        return v;
    };
    auto gw_one = [&](int64_t j) {
        if constexpr (has_w) return g[j] * w[j];
        return g[j];
    };
    T k_mean = 0, k_x = 0;
    if constexpr (want_dx) {
        // pass 1: sum(g w) and sum(g w (x - mean)), two vectors of each
        Vec<T, W> s0{}, s1{}, d0{}, d1{};
        int64_t j = 0;
        for (; j + 2 * W <= n; j += 2 * W) {
            Vec<T, W> a0 = gw_at(j), a1 = gw_at(j + W);
            s0 += a0;
            s1 += a1;
            d0 += a0 * (vload<T, W>(x + j) - vm);
            d1 += a1 * (vload<T, W>(x + j + W) - vm);
        }
        for (; j + W <= n; j += W) {
            Vec<T, W> a0 = gw_at(j);
            s0 += a0;
            d0 += a0 * (vload<T, W>(x + j) - vm);
        }
        Vec<T, W> s = s0 + s1, d = d0 + d1;
        T sum_a = 0, dot = 0;
        for (int l = 0; l < W; ++l) sum_a += s[l], dot += d[l];
        for (; j < n; ++j) {
            sum_a += gw_one(j);
            dot += gw_one(j) * (x[j] - mean);
        }
        // dx = rstd g w - rstd sum_a / N - (x - mean) rstd^3 dot / N
        k_mean = -rstd * sum_a / T(n);
        k_x = -rstd * rstd * rstd * dot / T(n);
    }
    // pass 2: dx, g xhat into pw, g into pb
    Vec<T, W> vkm = splat<T, W>(k_mean), vkx = splat<T, W>(k_x);
    int64_t j = 0;
    for (; j + W <= n; j += W) {
        Vec<T, W> gv = vload<T, W>(g + j), xc{};
        if constexpr (centred) xc = vload<T, W>(x + j) - vm;
        if constexpr (want_dx) {
            Vec<T, W> gw = gv;
            if constexpr (has_w) gw *= vload<T, W>(w + j);
            vstore<T, W>(dx + j, gw * vr + (xc * vkx + vkm));
        }
        if constexpr (want_dw) vstore<T, W>(pw + j, vload<T, W>(pw + j) + gv * (xc * vr));
        if constexpr (want_db) vstore<T, W>(pb + j, vload<T, W>(pb + j) + gv);
    }
    for (; j < n; ++j) {
        T xc = centred ? x[j] - mean : T(0);
        if constexpr (want_dx) dx[j] = gw_one(j) * rstd + (xc * k_x + k_mean);
        if constexpr (want_dw) pw[j] += g[j] * (xc * rstd);
        if constexpr (want_db) pb[j] += g[j];
    }
}

template <typename T, int W, int Flags>
MARROW_VEC_INLINE void backward_rows_with(const BackwardArgs<T>& a, int64_t r0, int64_t r1, T* pw,
                                          T* pb) {
    for (int64_t r = r0; r < r1; ++r) backward_row<T, W, Flags>(a, r, pw, pb);
}

// backward_rows_with<Flags> for the runtime `flags` (one of 0 ... 15).
template <typename T, int W, int... Flags>
MARROW_VEC_INLINE void backward_rows_flags(int flags, const BackwardArgs<T>& a, int64_t r0,
                                           int64_t r1, T* pw, T* pb,
                                           std::integer_sequence<int, Flags...>) {
    ((flags == Flags ? backward_rows_with<T, W, Flags>(a, r0, r1, pw, pb) : void()), ...);
}

// Rows [r0, r1) of one block; pw, pb: the block's partial rows (zeroed here), or null.
template <typename T, int W>
MARROW_VEC_INLINE void backward_rows_v1(const BackwardArgs<T>& a, int64_t r0, int64_t r1, T* pw,
                                        T* pb) {
    if (pw) std::fill(pw, pw + a.n, T(0));
    if (pb) std::fill(pb, pb + a.n, T(0));
    int flags = (a.weight ? kHasW : 0) | (a.dx ? kDx : 0) | (pw ? kDw : 0) | (pb ? kDb : 0);
    backward_rows_flags<T, W>(flags, a, r0, r1, pw, pb, std::make_integer_sequence<int, 16>());
}

// Columns [j0, j1) of `out` = the sum over `blocks` partial rows of n values, in block order.
template <typename T>
MARROW_VEC_INLINE void sum_partials(const T* __restrict partial, int64_t blocks, int64_t n,
                                    T* __restrict out, int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) out[j] = partial[j];
    for (int64_t b = 1; b < blocks; ++b)
        for (int64_t j = j0; j < j1; ++j) out[j] += partial[b * n + j];
}

// The per-ISA copies; the OpenMP loops stay outside them (as in tensor/cpu/norm.cpp), so
// nothing compiled for one ISA is inlined into code compiled for another.
#define MARROW_LAYER_NORM_ISA_COPIES(T)                                                            \
    MARROW_TARGET_AVX512 void forward_avx512(const ForwardArgs<T>& a, int64_t r0, int64_t r1) {    \
        forward_rows_v1<T, 64 / sizeof(T)>(a, r0, r1);                                             \
    }                                                                                              \
    MARROW_TARGET_AVX2 void forward_avx2(const ForwardArgs<T>& a, int64_t r0, int64_t r1) {        \
        forward_rows_v1<T, 32 / sizeof(T)>(a, r0, r1);                                             \
    }                                                                                              \
    void forward_base(const ForwardArgs<T>& a, int64_t r0, int64_t r1) {                           \
        forward_rows_v1<T, 16 / sizeof(T)>(a, r0, r1);                                             \
    }                                                                                              \
    MARROW_TARGET_AVX512 void backward_avx512(const BackwardArgs<T>& a, int64_t r0, int64_t r1,    \
                                              T* pw, T* pb) {                                      \
        backward_rows_v1<T, 64 / sizeof(T)>(a, r0, r1, pw, pb);                                    \
    }                                                                                              \
    MARROW_TARGET_AVX2 void backward_avx2(const BackwardArgs<T>& a, int64_t r0, int64_t r1, T* pw, \
                                          T* pb) {                                                 \
        backward_rows_v1<T, 32 / sizeof(T)>(a, r0, r1, pw, pb);                                    \
    }                                                                                              \
    void backward_base(const BackwardArgs<T>& a, int64_t r0, int64_t r1, T* pw, T* pb) {           \
        backward_rows_v1<T, 16 / sizeof(T)>(a, r0, r1, pw, pb);                                    \
    }                                                                                              \
    MARROW_TARGET_AVX512 void sum_avx512(const T* p, int64_t blocks, int64_t n, T* out,            \
                                         int64_t j0, int64_t j1) {                                 \
        sum_partials(p, blocks, n, out, j0, j1);                                                   \
    }                                                                                              \
    MARROW_TARGET_AVX2 void sum_avx2(const T* p, int64_t blocks, int64_t n, T* out, int64_t j0,    \
                                     int64_t j1) {                                                 \
        sum_partials(p, blocks, n, out, j0, j1);                                                   \
    }                                                                                              \
    void sum_base(const T* p, int64_t blocks, int64_t n, T* out, int64_t j0, int64_t j1) {         \
        sum_partials(p, blocks, n, out, j0, j1);                                                   \
    }
MARROW_LAYER_NORM_ISA_COPIES(float)
MARROW_LAYER_NORM_ISA_COPIES(double)
#undef MARROW_LAYER_NORM_ISA_COPIES

constexpr int64_t kRowBlock = 32;  // rows per task and per dweight/dbias partial row

template <typename T>
void forward_v1(const ForwardArgs<T>& a) {
    using Fn = void (*)(const ForwardArgs<T>&, int64_t, int64_t);
    Fn run = for_isa<Fn>(forward_avx512, forward_avx2, forward_base);
    int64_t blocks = (a.m + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (a.m * a.n >= kParallelGrain)
    for (int64_t b = 0; b < blocks; ++b) run(a, b * kRowBlock, std::min(a.m, (b + 1) * kRowBlock));
}

template <typename T>
void backward_v1(const BackwardArgs<T>& a, DType dtype) {
    using Fn = void (*)(const BackwardArgs<T>&, int64_t, int64_t, T*, T*);
    using SumFn = void (*)(const T*, int64_t, int64_t, T*, int64_t, int64_t);
    Fn run = for_isa<Fn>(backward_avx512, backward_avx2, backward_base);
    SumFn sum = for_isa<SumFn>(sum_avx512, sum_avx2, sum_base);
    int64_t blocks = (a.m + kRowBlock - 1) / kRowBlock;
    // One partial row per block for each column sum wanted (the CPU caching allocator keeps
    // the buffer between calls).
    int64_t parts = (a.dweight ? 1 : 0) + (a.dbias ? 1 : 0);
    Tensor scratch = empty({std::max<int64_t>(parts, 1) * blocks * a.n}, dtype);
    T* pw = a.dweight ? scratch.data<T>() : nullptr;
    T* pb = a.dbias ? scratch.data<T>() + (a.dweight ? blocks * a.n : 0) : nullptr;
#pragma omp parallel if (a.m * a.n >= kParallelGrain)
    {
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; ++b)
            run(a, b * kRowBlock, std::min(a.m, (b + 1) * kRowBlock), pw ? pw + b * a.n : nullptr,
                pb ? pb + b * a.n : nullptr);
        // Columns in pieces of 256 (a cache-line multiple), each summed over the blocks.
        int64_t pieces = parts ? (a.n + 255) / 256 : 0;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < pieces; ++p) {
            int64_t j0 = p * 256, j1 = std::min(a.n, j0 + 256);
            if (pw) sum(pw, blocks, a.n, a.dweight, j0, j1);
            if (pb) sum(pb, blocks, a.n, a.dbias, j0, j1);
        }
    }
}

template <typename T>
ForwardArgs<T> forward_args(double eps, const Tensor& x, const Tensor* weight, const Tensor* bias,
                            const Tensor& y, const Tensor& mean, const Tensor& rstd) {
    return {x.size(0),
            x.size(1),
            T(eps),
            x.data<T>(),
            data_or_null<T>(weight),
            data_or_null<T>(bias),
            y.data<T>(),
            mean.data<T>(),
            rstd.data<T>()};
}

template <typename T>
BackwardArgs<T> backward_args(const Tensor* x, const Tensor& g, const Tensor* mean,
                              const Tensor* rstd, const Tensor* weight, const Tensor* dx,
                              const Tensor* dweight, const Tensor* dbias) {
    return {g.size(0),
            g.size(1),
            data_or_null<T>(x),
            g.data<T>(),
            data_or_null<T>(mean),
            data_or_null<T>(rstd),
            data_or_null<T>(weight),
            mutable_or_null<T>(dx),
            mutable_or_null<T>(dweight),
            mutable_or_null<T>(dbias)};
}

}  // namespace

void layer_norm_reference(double eps, const Tensor& x, const Tensor* weight, const Tensor* bias,
                          const Tensor& y, const Tensor& mean, const Tensor& rstd) {
    visit_float(x.dtype(), "layer_norm", [&]<typename T>() {
        ForwardArgs<T> a = forward_args<T>(eps, x, weight, bias, y, mean, rstd);
#pragma omp parallel for schedule(static) if (a.m * a.n >= kParallelGrain)
        for (int64_t r = 0; r < a.m; ++r) forward_reference_row(a, r);
    });
}

void layer_norm_backward_reference(const Tensor* x, const Tensor& g, const Tensor* mean,
                                   const Tensor* rstd, const Tensor* weight, const Tensor* dx,
                                   const Tensor* dweight, const Tensor* dbias) {
    visit_float(g.dtype(), "layer_norm_backward", [&]<typename T>() {
        BackwardArgs<T> a = backward_args<T>(x, g, mean, rstd, weight, dx, dweight, dbias);
        bool parallel = a.m * a.n >= kParallelGrain;
        if (a.dx) {
#pragma omp parallel for schedule(static) if (parallel)
            for (int64_t r = 0; r < a.m; ++r) backward_reference_row(a, r);
        }
        if (a.dweight || a.dbias) {
#pragma omp parallel for schedule(static) if (parallel)
            for (int64_t j = 0; j < a.n; ++j) backward_reference_column(a, j);
        }
    });
}

void layer_norm(double eps, const Tensor& x, const Tensor* weight, const Tensor* bias,
                const Tensor& y, const Tensor& mean, const Tensor& rstd) {
    visit_float(x.dtype(), "layer_norm", [&]<typename T>() {
        forward_v1(forward_args<T>(eps, x, weight, bias, y, mean, rstd));
    });
}

void layer_norm_backward(const Tensor* x, const Tensor& g, const Tensor* mean, const Tensor* rstd,
                         const Tensor* weight, const Tensor* dx, const Tensor* dweight,
                         const Tensor* dbias) {
    visit_float(g.dtype(), "layer_norm_backward", [&]<typename T>() {
        backward_v1(backward_args<T>(x, g, mean, rstd, weight, dx, dweight, dbias), g.dtype());
    });
}

}  // namespace marrow::cpu
