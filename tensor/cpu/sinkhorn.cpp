// CPU Sinkhorn-Knopp (SwAV's distributed_sinkhorn at world size 1) over scores (B', K)
// contiguous, without overflow at any scores / eps (Note [Sinkhorn in the log domain]).
//
//   reference   (readable, any float dtype): log Q (K, B') = scores^T / eps, then upstream's
//               steps one by one as log-sum-exps: the global normalization, each iteration's
//               per-prototype then per-sample normalization, + log B'. In acc_t<T>.
//   version 1   (production): the potentials form below. A prototype step runs down the B'
//               rows with a vector of running maxima, then of exp sums, across a block of
//               prototypes (unit stride, vectorizes; blocks split across threads); a sample
//               step is one row's log-sum-exp; the last is one row's softmax. Float32 runs the
//               vectorized exp / logsumexp / softmax of tensor/cpu/vec_math.h and
//               vec_kernels.h (per-ISA copies); float64 libm. Runs where version 2 cannot.
//   version 2   (production below 2^18 values): upstream's linear scalings (multiply-add
//               passes) on a matrix E whose exps cannot underflow where it matters: one exp
//               pass when the scores' span allows, else one log-domain iteration first (2 exp
//               passes); serial. SwAV's B = 256, K = 300, 3 iterations: ~55 us (cosine-like
//               scores) / ~93 us (N(0, 1) scores) against ~190 us for version 1, one thread.
//
// Note [Sinkhorn in the log domain]
// Upstream, with Q (K, B') = exp(scores^T / eps):
//   Q /= sum(Q)
//   repeat n:  Q /= rowsum(Q); Q /= K          (each prototype's mass becomes 1/K)
//              Q /= colsum(Q); Q /= B'         (each sample's mass becomes 1/B')
//   return (Q * B')^T
// Every step scales a prototype row or a sample column by a positive factor, so at any time
// Q_kb = exp(z_bk + a_k + c_b) with z = scores / eps and log-domain potentials a (K), c (B'):
//   global step:  a constant; the first prototype step absorbs it exactly (not computed)
//   prototype:    a_k = -log K - LSE_b (z_bk + c_b)
//   sample:       c_b = -log B' - LSE_k (z_bk + a_k)
// and the answer B' Q^T = exp(z_bk + a_k + c_b + log B') with the last c: that is
// softmax_k (z_bk + a_k), row b's softmax, so the last sample step and the final exp are one
// softmax pass (rows sum to 1 up to rounding). Each LSE subtracts its maximum before the exp:
// nothing overflows whatever scores / eps is (fp32's plain exp overflows past 88.7, e.g.
// eps 0.01 with scores ~1). Cost: n prototype steps, n - 1 sample steps and the softmax, 2n
// exp passes over B' K values (upstream: one exp pass and 4n + 2 division / sum passes).
// Distributed (not implemented): each process holds a slice of the B' samples. Upstream
// all-reduces sum(Q) (not needed here) and the prototype rowsums: here, the (max, sum) pairs
// of a prototype step's LSE over samples would be all-reduced (max, then sums rescaled to the
// global max) after the local pass in prototype_step, with B' the global sample count in the
// sample step's log B'. The sample steps and the softmax are per sample, local.
#include "tensor/cpu/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/cpu/vec_math.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

// ---- reference ------------------------------------------------------------------------------

template <typename T>
void sinkhorn_reference_t(const T* s, int64_t nb, int64_t nk, double eps, int64_t iters, T* q) {
    using Acc = acc_t<T>;
    // log Q as upstream's Q: (K, B'), prototype rows.
    std::vector<Acc> lq(size_t(nk * nb));
    for (int64_t k = 0; k < nk; ++k)
        for (int64_t b = 0; b < nb; ++b) lq[size_t(k * nb + b)] = Acc(s[b * nk + k]) / Acc(eps);
    // log-sum-exp of the values at lq[i0 + j step], j < n
    auto lse = [&](int64_t i0, int64_t step, int64_t n) {
        Acc m = -std::numeric_limits<Acc>::infinity(), sum = 0;
        for (int64_t j = 0; j < n; ++j) m = std::max(m, lq[size_t(i0 + j * step)]);
        for (int64_t j = 0; j < n; ++j) sum += std::exp(lq[size_t(i0 + j * step)] - m);
        return m + std::log(sum);
    };
    Acc all = lse(0, 1, nk * nb);  // Q /= sum(Q)
    for (Acc& v : lq) v -= all;
    Acc log_k = std::log(Acc(nk)), log_b = std::log(Acc(nb));
    for (int64_t it = 0; it < iters; ++it) {
        for (int64_t k = 0; k < nk; ++k) {  // Q /= rowsum(Q); Q /= K
            Acc r = lse(k * nb, 1, nb) + log_k;
            for (int64_t b = 0; b < nb; ++b) lq[size_t(k * nb + b)] -= r;
        }
        for (int64_t b = 0; b < nb; ++b) {  // Q /= colsum(Q); Q /= B'
            Acc c = lse(b, nb, nk) + log_b;
            for (int64_t k = 0; k < nk; ++k) lq[size_t(k * nb + b)] -= c;
        }
    }
    for (int64_t b = 0; b < nb; ++b)  // (Q * B')^T
        for (int64_t k = 0; k < nk; ++k)
            q[b * nk + k] = T(std::exp(lq[size_t(k * nb + b)] + log_b));
}

// ---- version 1 ------------------------------------------------------------------------------

template <typename T>
MARROW_VEC_INLINE T exp_le0(T x) {  // e^x for x <= 0 (relative to a maximum)
    if constexpr (std::is_same_v<T, float>)
        return vexp_neg(x);
    else
        return std::exp(x);
}

constexpr int64_t kProtoBlock = 256;  // prototypes per block of a prototype step

// a[k0..k1) = -log K - LSE_b (z_bk + c_b), z = s inv_eps. Two passes down the rows with
// running maxima, then exp sums, per prototype; the block's vectors stay in L1.
template <typename T>
MARROW_VEC_INLINE void prototype_step_body(const T* __restrict s, const T* __restrict c, int64_t nb,
                                           int64_t nk, T inv_eps, T log_k, int64_t k0, int64_t k1,
                                           T* __restrict a) {
    alignas(64) T m[kProtoBlock], sum[kProtoBlock];
    int64_t n = k1 - k0;
    for (int64_t j = 0; j < n; ++j) m[j] = -std::numeric_limits<T>::infinity(), sum[j] = 0;
    for (int64_t b = 0; b < nb; ++b) {
        const T* row = s + b * nk + k0;
        T cb = c[b];
        for (int64_t j = 0; j < n; ++j) {
            T v = row[j] * inv_eps + cb;
            m[j] = v > m[j] ? v : m[j];
        }
    }
    for (int64_t b = 0; b < nb; ++b) {
        const T* row = s + b * nk + k0;
        T cb = c[b];
        for (int64_t j = 0; j < n; ++j) sum[j] += exp_le0(row[j] * inv_eps + cb - m[j]);
    }
    for (int64_t j = 0; j < n; ++j) a[k0 + j] = -log_k - (m[j] + std::log(sum[j]));
}

// z_k + a_k of one row into t (n values).
template <typename T>
MARROW_VEC_INLINE void shifted_row(const T* __restrict s, const T* __restrict a, T inv_eps,
                                   int64_t n, T* __restrict t) {
    for (int64_t k = 0; k < n; ++k) t[k] = s[k] * inv_eps + a[k];
}

#define MARROW_SINKHORN_ISA_COPIES(T)                                                              \
    MARROW_TARGET_AVX512 void prototype_step_avx512(const T* s, const T* c, int64_t nb,            \
                                                    int64_t nk, T inv_eps, T log_k, int64_t k0,    \
                                                    int64_t k1, T* a) {                            \
        prototype_step_body<T>(s, c, nb, nk, inv_eps, log_k, k0, k1, a);                           \
    }                                                                                              \
    MARROW_TARGET_AVX2 void prototype_step_avx2(const T* s, const T* c, int64_t nb, int64_t nk,    \
                                                T inv_eps, T log_k, int64_t k0, int64_t k1,        \
                                                T* a) {                                            \
        prototype_step_body<T>(s, c, nb, nk, inv_eps, log_k, k0, k1, a);                           \
    }                                                                                              \
    void prototype_step_base(const T* s, const T* c, int64_t nb, int64_t nk, T inv_eps, T log_k,   \
                             int64_t k0, int64_t k1, T* a) {                                       \
        prototype_step_body<T>(s, c, nb, nk, inv_eps, log_k, k0, k1, a);                           \
    }                                                                                              \
    MARROW_TARGET_AVX512 void shifted_avx512(const T* s, const T* a, T inv_eps, int64_t n, T* t) { \
        shifted_row<T>(s, a, inv_eps, n, t);                                                       \
    }                                                                                              \
    MARROW_TARGET_AVX2 void shifted_avx2(const T* s, const T* a, T inv_eps, int64_t n, T* t) {     \
        shifted_row<T>(s, a, inv_eps, n, t);                                                       \
    }                                                                                              \
    void shifted_base(const T* s, const T* a, T inv_eps, int64_t n, T* t) {                        \
        shifted_row<T>(s, a, inv_eps, n, t);                                                       \
    }
MARROW_SINKHORN_ISA_COPIES(float)
MARROW_SINKHORN_ISA_COPIES(double)
#undef MARROW_SINKHORN_ISA_COPIES

// LSE and softmax of one contiguous row: the vectorized float32 kernels, libm for float64.
float row_lse(const float* t, int64_t n) {
    RowLse r = fast_row_logsumexp()(t, n);
    return r.max + std::log(r.sum);
}
double row_lse(const double* t, int64_t n) {
    double m = *std::max_element(t, t + n), sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += std::exp(t[k] - m);
    return m + std::log(sum);
}
void row_softmax(const float* t, float* y, int64_t n) { fast_softmax_rows()(false, t, y, 1, n); }
void row_softmax(const double* t, double* y, int64_t n) {
    double m = *std::max_element(t, t + n), sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += (y[k] = std::exp(t[k] - m));
    for (int64_t k = 0; k < n; ++k) y[k] /= sum;
}

constexpr int64_t kParallelValues = 1 << 18;  // B' K from which the steps split across threads

template <typename T>
void sinkhorn_v1(const T* s, int64_t nb, int64_t nk, double eps, int64_t iters, T* q) {
    using StepFn = void (*)(const T*, const T*, int64_t, int64_t, T, T, int64_t, int64_t, T*);
    using ShiftFn = void (*)(const T*, const T*, T, int64_t, T*);
    StepFn step = for_isa<StepFn>(prototype_step_avx512, prototype_step_avx2, prototype_step_base);
    ShiftFn shift = for_isa<ShiftFn>(shifted_avx512, shifted_avx2, shifted_base);
    T inv_eps = T(1 / eps), log_k = std::log(T(nk)), log_b = std::log(T(nb));
    std::vector<T> a(static_cast<size_t>(nk)), c(static_cast<size_t>(nb), T(0));
    int64_t blocks = (nk + kProtoBlock - 1) / kProtoBlock;
    bool parallel = nb * nk >= kParallelValues;
#pragma omp parallel if (parallel)
    {
        std::vector<T> t(static_cast<size_t>(nk));
        for (int64_t it = 0; it < iters; ++it) {
#pragma omp for schedule(static)
            for (int64_t blk = 0; blk < blocks; ++blk)
                step(s, c.data(), nb, nk, inv_eps, log_k, blk * kProtoBlock,
                     std::min(nk, (blk + 1) * kProtoBlock), a.data());
            bool last = it + 1 == iters;
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nb; ++b) {
                shift(s + b * nk, a.data(), inv_eps, nk, t.data());
                if (last)
                    row_softmax(t.data(), q + b * nk, nk);
                else
                    c[size_t(b)] = -log_b - row_lse(t.data(), nk);
            }
        }
    }
}

// ---- version 2: upstream's linear scalings on a well-scaled E -----------------------------
// With a matrix E (B', K) and scalings u (K), v (B'), Q_kb = E_bk u_k v_b (constant factors
// folded into u):
//   prototype step: u_k = 1 / (K sum_b E_bk v_b);  sample step: v_b = 1 / (B' sum_k E_bk u_k)
//   result: row b of E diag(u), normalized to sum 1 (the last sample step).
// These are multiply-add passes; only E needs exps, and E must not underflow where it matters:
//   narrow: every prototype's scores span at most kLinearSpan eps. E_bk = e^(z_bk - max_b z_bk)
//           lies in [e^-60, 1] (float32's smallest normal is e^-87), all n iterations run on
//           it: one exp pass instead of 2n. SwAV's cosine scores (range <= 2) at eps 0.05 span
//           <= 40.
//   wide:   the first iteration runs in the log domain: version 1's prototype step, then
//           E_bk = B' e^(z_bk + a_k + c_b), which with the sample step's c is row b's softmax
//           of z + a (rows summing to 1: no sample's row can vanish, and what underflows is
//           below 1e-38 of its row). The other n - 1 iterations scale it: 2 exp passes, not 2n.
// u and v must stay within [1e-30, 1e30] (they start at 1 and only correct a few iterations'
// imbalance); if not, version 1 reruns the whole problem.
constexpr double kLinearSpan = 60;

template <typename T, int W>
MARROW_VEC_INLINE T dot_lanes(const T* __restrict a, const T* __restrict b, int64_t n) {
    if constexpr (std::is_same_v<T, float>) {
        Lanes<W> acc = {};
        int64_t full = n / W * W;
        for (int64_t i = 0; i < full; i += W) acc += load<W>(a + i) * load<W>(b + i);
        float r = 0;
        for (int l = 0; l < W; ++l) r += acc[l];
        for (int64_t i = full; i < n; ++i) r += a[i] * b[i];
        return r;
    } else {
        T r = 0;
        for (int64_t i = 0; i < n; ++i) r += a[i] * b[i];
        return r;
    }
}

template <typename T>
struct LinearArgs {
    const T* s;
    int64_t nb, nk;
    T inv_eps;
    T* q;        // E, then the result
    T *u, *v;    // scalings
    T *hi, *lo;  // narrow: per-prototype max / min of s
};

// narrow: E from the per-prototype maxima, or false when the span is too wide.
template <typename T, int W>
MARROW_VEC_INLINE bool narrow_e(const LinearArgs<T>& p) {
    const T* s = p.s;
    int64_t nb = p.nb, nk = p.nk;
    for (int64_t k = 0; k < nk; ++k) p.hi[k] = p.lo[k] = s[k];
    for (int64_t b = 1; b < nb; ++b)
        for (int64_t k = 0; k < nk; ++k) {
            T x = s[b * nk + k];
            p.hi[k] = x > p.hi[k] ? x : p.hi[k];
            p.lo[k] = x < p.lo[k] ? x : p.lo[k];
        }
    T span = 0;
    for (int64_t k = 0; k < nk; ++k) span = std::max(span, (p.hi[k] - p.lo[k]) * p.inv_eps);
    if (!(span <= T(kLinearSpan))) return false;
    for (int64_t b = 0; b < nb; ++b)
        for (int64_t k = 0; k < nk; ++k)
            p.q[b * nk + k] = exp_le0((s[b * nk + k] - p.hi[k]) * p.inv_eps);
    return true;
}

// `iters` iterations of the scalings on E (in q), then the result into q; false when a
// scaling leaves [1e-30, 1e30].
template <typename T, int W>
MARROW_VEC_INLINE bool scale_e(const LinearArgs<T>& p, int64_t iters) {
    int64_t nb = p.nb, nk = p.nk;
    T *q = p.q, *u = p.u, *v = p.v;
    for (int64_t b = 0; b < nb; ++b) v[b] = 1;
    T inv_k = T(1) / T(nk), inv_b = T(1) / T(nb);
    auto in_range = [](T x) { return x >= T(1e-30) && x <= T(1e30); };  // false for NaN
    for (int64_t it = 0; it < iters; ++it) {
        for (int64_t k = 0; k < nk; ++k) u[k] = 0;
        for (int64_t b = 0; b < nb; ++b) {
            T vb = v[b];
            for (int64_t k = 0; k < nk; ++k) u[k] += q[b * nk + k] * vb;
        }
        bool ok = true;
        for (int64_t k = 0; k < nk; ++k) ok &= in_range(u[k] = inv_k / u[k]);
        if (!ok) return false;
        if (it + 1 == iters) break;
        for (int64_t b = 0; b < nb; ++b)
            if (!in_range(v[b] = inv_b / dot_lanes<T, W>(q + b * nk, u, nk))) return false;
    }
    for (int64_t b = 0; b < nb; ++b) {
        T* row = q + b * nk;
        T inv = T(1) / dot_lanes<T, W>(row, u, nk);
        for (int64_t k = 0; k < nk; ++k) row[k] = row[k] * u[k] * inv;
    }
    return true;
}

// phase 0: narrow E; else scale_e with `phase - 1` iterations.
template <typename T, int W>
MARROW_VEC_INLINE bool linear_phase(const LinearArgs<T>& p, int64_t phase) {
    return phase == 0 ? narrow_e<T, W>(p) : scale_e<T, W>(p, phase - 1);
}

#define MARROW_SINKHORN_LINEAR_COPIES(T)                                             \
    MARROW_TARGET_AVX512 bool linear_avx512(const LinearArgs<T>& p, int64_t phase) { \
        return linear_phase<T, 16>(p, phase);                                        \
    }                                                                                \
    MARROW_TARGET_AVX2 bool linear_avx2(const LinearArgs<T>& p, int64_t phase) {     \
        return linear_phase<T, 8>(p, phase);                                         \
    }                                                                                \
    bool linear_base(const LinearArgs<T>& p, int64_t phase) { return linear_phase<T, 4>(p, phase); }
MARROW_SINKHORN_LINEAR_COPIES(float)
MARROW_SINKHORN_LINEAR_COPIES(double)
#undef MARROW_SINKHORN_LINEAR_COPIES

// Version 2 (serial: at SwAV's sizes a pass takes microseconds, less than an OpenMP barrier
// on a loaded machine); version 1 for large problems and when the scalings leave their range.
template <typename T>
void sinkhorn_v2(const T* s, int64_t nb, int64_t nk, double eps, int64_t iters, T* q) {
    if (nb * nk >= kParallelValues) return sinkhorn_v1(s, nb, nk, eps, iters, q);
    using Fn = bool (*)(const LinearArgs<T>&, int64_t);
    Fn linear = for_isa<Fn>(linear_avx512, linear_avx2, linear_base);
    auto vec = [](int64_t n) { return std::vector<T>(static_cast<size_t>(n), T(0)); };
    std::vector<T> u = vec(nk), v = vec(nb), hi = vec(nk), lo = vec(nk), a = vec(nk), c = vec(nb),
                   t = vec(nk);
    T inv_eps = T(1 / eps);
    LinearArgs<T> p{s, nb, nk, inv_eps, q, u.data(), v.data(), hi.data(), lo.data()};
    if (linear(p, 0)) {  // narrow
        if (linear(p, 1 + iters)) return;
    } else if (iters > 1) {  // wide: the first iteration in the log domain (as version 1)
        using StepFn = void (*)(const T*, const T*, int64_t, int64_t, T, T, int64_t, int64_t, T*);
        using ShiftFn = void (*)(const T*, const T*, T, int64_t, T*);
        StepFn step =
            for_isa<StepFn>(prototype_step_avx512, prototype_step_avx2, prototype_step_base);
        ShiftFn shift = for_isa<ShiftFn>(shifted_avx512, shifted_avx2, shifted_base);
        T log_k = std::log(T(nk));
        for (int64_t k0 = 0; k0 < nk; k0 += kProtoBlock)
            step(s, c.data(), nb, nk, inv_eps, log_k, k0, std::min(nk, k0 + kProtoBlock), a.data());
        // E = B' e^(z + a + c) with c from the sample step: row b's softmax of z + a
        for (int64_t b = 0; b < nb; ++b) {
            shift(s + b * nk, a.data(), inv_eps, nk, t.data());
            row_softmax(t.data(), q + b * nk, nk);
        }
        if (linear(p, 1 + iters - 1)) return;
    }
    sinkhorn_v1(s, nb, nk, eps, iters, q);
}

}  // namespace

void sinkhorn_reference(const Tensor& scores, double epsilon, int64_t iterations, const Tensor& q) {
    visit_float(scores.dtype(), "sinkhorn_knopp", [&]<typename T>() {
        sinkhorn_reference_t<T>(scores.data<T>(), scores.size(0), scores.size(1), epsilon,
                                iterations, q.data<T>());
    });
}

void sinkhorn(const Tensor& scores, double epsilon, int64_t iterations, const Tensor& q) {
    visit_float(scores.dtype(), "sinkhorn_knopp", [&]<typename T>() {
        sinkhorn_v2<T>(scores.data<T>(), scores.size(0), scores.size(1), epsilon, iterations,
                       q.data<T>());
    });
}

}  // namespace marrow::cpu
