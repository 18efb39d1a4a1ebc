// CPU soft cross-entropy kernels of cross_entropy_crops and soft_cross_entropy
// (tensor/ops/crop_cross_entropy.h), forward and backward, per logits row r of K values with
// its target Q_r (crops: the sum of the target rows j != v of its sample; rows: target row r):
//   z = s_r / tau,  m = max z,  lse_r = m + log sum_k e^(z_k - m)
//   loss_r = scale w_r sum_k Q_rk (lse_r - z_k) = scale w_r [(sum_k Q_rk) log sum_k e^(z_k - m)
//            - sum_k Q_rk (z_k - m)]          (no cancellation between two large lse terms)
//   dlogits_r = g scale w_r / tau [(sum_k Q_rk) e^(z - lse_r) - Q_r]
// (derivation: autograd/functions/crop_cross_entropy.cpp).
//
//   reference   (readable, any float dtype; float64's production path): per row, the target
//               summed into a buffer, then the max, the exp sum and the dot, in acc_t<T>.
//   version 1   (float32): the same passes with the vectorized exp of tensor/cpu/vec_math.h and
//               sums in W lanes combined in a fixed order (AVX-512 / AVX2 / baseline copies),
//               a target that is one row read in place; rows split across threads.
// One row is one thread's and the per-row losses are summed by the entry point in a fixed
// order: results do not depend on the thread count. The fused form reads each logits row once
// per pass (two passes forward, one backward) where the composed DINOLoss recomputes
// log_softmax for every (teacher, student) pair.
#include "tensor/cpu/crop_cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/cpu/vec_math.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

// The target of row r: the one row it reads in place (count 1), or the sum of `count` rows
// (crops with T > 2, or rows j != v of a later crop) written into buf. count 0 (no target:
// V > T never leaves a crop without one, but T = 1 and v = 0 does) gives zeros.
template <typename T>
const T* target_row(const SoftCrossEntropyParams& p, const T* targets, int64_t r, T* buf) {
    if (!p.crops) return targets + r * p.k;
    int64_t v = r / p.b, b = r % p.b;
    const T* first = nullptr;
    int64_t count = 0;
    for (int64_t j = 0; j < p.t; ++j) {
        if (j == v) continue;
        const T* row = targets + (j * p.b + b) * p.k;
        if (count == 0) {
            first = row;
        } else {
            if (count == 1) std::memcpy(buf, first, size_t(p.k) * sizeof(T));
            for (int64_t k = 0; k < p.k; ++k) buf[k] += row[k];
        }
        ++count;
    }
    if (count == 0) {
        std::fill(buf, buf + p.k, T(0));
        return buf;
    }
    return count == 1 ? first : buf;
}

template <typename T>
T row_weight(const SoftCrossEntropyParams& p, const T* weights, int64_t r) {
    return T(p.scale) * (weights ? weights[r] : T(1));
}

// ---- reference ------------------------------------------------------------------------------

template <typename T>
void forward_reference_t(const SoftCrossEntropyParams& p, const T* targets, const T* logits,
                         const T* weights, T* row_loss, T* lse) {
    using Acc = acc_t<T>;
    int64_t rows = p.v * p.b;
#pragma omp parallel if (rows * p.k >= (1 << 16))
    {
        std::vector<T> buf(size_t(p.k));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const T* s = logits + r * p.k;
            const T* q = target_row(p, targets, r, buf.data());
            Acc inv = Acc(p.inv_tau), m = -std::numeric_limits<Acc>::infinity();
            for (int64_t k = 0; k < p.k; ++k) m = std::max(m, Acc(s[k]) * inv);
            Acc sum = 0, dot = 0, mass = 0;
            for (int64_t k = 0; k < p.k; ++k) {
                Acc zm = Acc(s[k]) * inv - m;
                sum += std::exp(zm);
                dot += Acc(q[k]) * zm;
                mass += Acc(q[k]);
            }
            lse[r] = T(m + std::log(sum));
            row_loss[r] = T(Acc(row_weight(p, weights, r)) * (mass * std::log(sum) - dot));
        }
    }
}

template <typename T>
void backward_reference_t(const SoftCrossEntropyParams& p, const T* targets, const T* logits,
                          const T* weights, const T* lse, T g, T* d) {
    using Acc = acc_t<T>;
    int64_t rows = p.v * p.b;
#pragma omp parallel if (rows * p.k >= (1 << 16))
    {
        std::vector<T> buf(size_t(p.k));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const T* s = logits + r * p.k;
            const T* q = target_row(p, targets, r, buf.data());
            Acc inv = Acc(p.inv_tau), mass = 0;
            for (int64_t k = 0; k < p.k; ++k) mass += Acc(q[k]);
            Acc coef = Acc(g) * Acc(row_weight(p, weights, r)) * inv, l = Acc(lse[r]);
            for (int64_t k = 0; k < p.k; ++k)
                d[r * p.k + k] = T(coef * (mass * std::exp(Acc(s[k]) * inv - l) - Acc(q[k])));
        }
    }
}

// ---- version 1 (float32) --------------------------------------------------------------------

template <int W>
MARROW_VEC_INLINE float lanes_total(const Lanes<W>& s) {
    float r = 0;
    for (int l = 0; l < W; ++l) r += s[l];
    return r;
}

constexpr int64_t kChunk = 512;  // values per chunk of a row's exp pass (stack buffers, in L1)

template <int W>
MARROW_VEC_INLINE void forward_rows_v1(const SoftCrossEntropyParams& p, const float* targets,
                                       const float* logits, const float* weights, float* row_loss,
                                       float* lse, float* buf, int64_t r0, int64_t r1) {
    alignas(64) float zm[kChunk], e[kChunk];
    float inv = float(p.inv_tau);
    for (int64_t r = r0; r < r1; ++r) {
        const float* s = logits + r * p.k;
        const float* q = target_row(p, targets, r, buf);
        float m = row_max<W>(s, p.k) * inv;  // max(s) / tau: tau > 0 keeps the order
        Lanes<W> sum = {}, dot = {}, mass = {};
        float sum_t = 0, dot_t = 0, mass_t = 0;
        for (int64_t c = 0; c < p.k; c += kChunk) {
            int64_t len = std::min(kChunk, p.k - c), full = len / W * W;
            for (int64_t i = 0; i < len; ++i) {
                zm[i] = s[c + i] * inv - m;
                e[i] = vexp_neg(zm[i]);
            }
            for (int64_t i = 0; i < full; i += W) {
                Lanes<W> qv = load<W>(q + c + i);
                sum += load<W>(e + i);
                dot += qv * load<W>(zm + i);
                mass += qv;
            }
            for (int64_t i = full; i < len; ++i) {
                sum_t += e[i];
                dot_t += q[c + i] * zm[i];
                mass_t += q[c + i];
            }
        }
        float total = lanes_total<W>(sum) + sum_t;
        float tmass = lanes_total<W>(mass) + mass_t, tdot = lanes_total<W>(dot) + dot_t;
        lse[r] = m + std::log(total);
        row_loss[r] = row_weight(p, weights, r) * (tmass * std::log(total) - tdot);
    }
}

template <int W>
MARROW_VEC_INLINE void backward_rows_v1(const SoftCrossEntropyParams& p, const float* targets,
                                        const float* logits, const float* weights, const float* lse,
                                        float g, float* d, float* buf, int64_t r0, int64_t r1) {
    float inv = float(p.inv_tau);
    for (int64_t r = r0; r < r1; ++r) {
        const float* s = logits + r * p.k;
        const float* q = target_row(p, targets, r, buf);
        Lanes<W> mass = {};
        float mass_t = 0;
        int64_t full = p.k / W * W;
        for (int64_t i = 0; i < full; i += W) mass += load<W>(q + i);
        for (int64_t i = full; i < p.k; ++i) mass_t += q[i];
        float tmass = lanes_total<W>(mass) + mass_t;
        float coef = g * row_weight(p, weights, r) * inv, l = lse[r];
        float* dr = d + r * p.k;
        // z - lse <= 0 up to rounding (lse >= max z); vexp_core's range covers a rounding above
        for (int64_t i = 0; i < p.k; ++i)
            dr[i] = coef * (tmass * vexp_neg(std::min(s[i] * inv - l, 0.0f)) - q[i]);
    }
}

#define MARROW_SOFT_CE_ISA_COPIES(NAME, W)                                                  \
    NAME void forward_##W(const SoftCrossEntropyParams& p, const float* t, const float* s,  \
                          const float* w, float* loss, float* lse, float* buf, int64_t r0,  \
                          int64_t r1) {                                                     \
        forward_rows_v1<W>(p, t, s, w, loss, lse, buf, r0, r1);                             \
    }                                                                                       \
    NAME void backward_##W(const SoftCrossEntropyParams& p, const float* t, const float* s, \
                           const float* w, const float* lse, float g, float* d, float* buf, \
                           int64_t r0, int64_t r1) {                                        \
        backward_rows_v1<W>(p, t, s, w, lse, g, d, buf, r0, r1);                            \
    }
MARROW_SOFT_CE_ISA_COPIES(MARROW_TARGET_AVX512, 16)
MARROW_SOFT_CE_ISA_COPIES(MARROW_TARGET_AVX2, 8)
MARROW_SOFT_CE_ISA_COPIES(, 4)
#undef MARROW_SOFT_CE_ISA_COPIES

constexpr int64_t kRowBlock = 8;  // rows per task

void forward_v1(const SoftCrossEntropyParams& p, const float* targets, const float* logits,
                const float* weights, float* row_loss, float* lse) {
    using Fn = decltype(&forward_16);
    Fn run = for_isa<Fn>(forward_16, forward_8, forward_4);
    int64_t rows = p.v * p.b, blocks = (rows + kRowBlock - 1) / kRowBlock;
#pragma omp parallel if (rows * p.k >= (1 << 16))
    {
        std::vector<float> buf(size_t(p.k));
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; ++blk)
            run(p, targets, logits, weights, row_loss, lse, buf.data(), blk * kRowBlock,
                std::min(rows, (blk + 1) * kRowBlock));
    }
}

void backward_v1(const SoftCrossEntropyParams& p, const float* targets, const float* logits,
                 const float* weights, const float* lse, float g, float* d) {
    using Fn = decltype(&backward_16);
    Fn run = for_isa<Fn>(backward_16, backward_8, backward_4);
    int64_t rows = p.v * p.b, blocks = (rows + kRowBlock - 1) / kRowBlock;
#pragma omp parallel if (rows * p.k >= (1 << 16))
    {
        std::vector<float> buf(size_t(p.k));
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; ++blk)
            run(p, targets, logits, weights, lse, g, d, buf.data(), blk * kRowBlock,
                std::min(rows, (blk + 1) * kRowBlock));
    }
}

template <typename T>
const T* weights_or_null(const Tensor* w) {
    return w ? w->data<T>() : nullptr;
}

}  // namespace

void soft_cross_entropy_reference(const SoftCrossEntropyParams& p, const Tensor& targets,
                                  const Tensor& logits, const Tensor* weights,
                                  const Tensor& row_loss, const Tensor& lse) {
    visit_float(logits.dtype(), "soft_cross_entropy", [&]<typename T>() {
        forward_reference_t<T>(p, targets.data<T>(), logits.data<T>(), weights_or_null<T>(weights),
                               row_loss.data<T>(), lse.data<T>());
    });
}

void soft_cross_entropy_backward_reference(const SoftCrossEntropyParams& p, const Tensor& targets,
                                           const Tensor& logits, const Tensor* weights,
                                           const Tensor& lse, const Tensor& g,
                                           const Tensor& dlogits) {
    visit_float(logits.dtype(), "soft_cross_entropy_backward", [&]<typename T>() {
        backward_reference_t<T>(p, targets.data<T>(), logits.data<T>(), weights_or_null<T>(weights),
                                lse.data<T>(), g.data<T>()[0], dlogits.data<T>());
    });
}

void soft_cross_entropy(const SoftCrossEntropyParams& p, const Tensor& targets,
                        const Tensor& logits, const Tensor* weights, const Tensor& row_loss,
                        const Tensor& lse) {
    if (logits.dtype() != DType::f32)
        return soft_cross_entropy_reference(p, targets, logits, weights, row_loss, lse);
    forward_v1(p, targets.data<float>(), logits.data<float>(), weights_or_null<float>(weights),
               row_loss.data<float>(), lse.data<float>());
}

void soft_cross_entropy_backward(const SoftCrossEntropyParams& p, const Tensor& targets,
                                 const Tensor& logits, const Tensor* weights, const Tensor& lse,
                                 const Tensor& g, const Tensor& dlogits) {
    if (logits.dtype() != DType::f32)
        return soft_cross_entropy_backward_reference(p, targets, logits, weights, lse, g, dlogits);
    backward_v1(p, targets.data<float>(), logits.data<float>(), weights_or_null<float>(weights),
                lse.data<float>(), g.data<float>()[0], dlogits.data<float>());
}

}  // namespace marrow::cpu
