// CUDA soft cross-entropy of cross_entropy_crops and soft_cross_entropy, forward and backward:
// one block per logits row r (crops: r = v B + b), formulas as tensor/cpu/crop_cross_entropy.cpp
// (derivation in autograd/functions/crop_cross_entropy.cpp), in acc_t<T>.
//   soft_ce_forward_kernel   max of z = s / tau (block_reduce), then one pass of the three sums
//                            (exp sum, sum Q (z - max), sum Q) reduced together; thread 0
//                            writes lse_r and the row's loss.
//   soft_ce_backward_kernel  sum Q (block_reduce), then d = g scale w / tau (mass e^(z - lse) - Q).
// The target Q_rk is formed on the fly (crops: the sum over j < T, j != v, in j order, as the
// CPU). The upstream gradient g is read from device memory: no sync.
#include <algorithm>
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

// The kernel's view of SoftCrossEntropyParams (plain values, passed by value).
struct Geometry {
    int64_t t, b, k;
    double inv_tau, scale;
    bool crops;
};

template <typename T>
__device__ acc_t<T> target_at(const Geometry& p, const T* targets, int64_t r, int64_t k) {
    using Acc = acc_t<T>;
    if (!p.crops) return Acc(targets[r * p.k + k]);
    int64_t v = r / p.b, b = r % p.b;
    Acc q = Acc(0);
    for (int64_t j = 0; j < p.t; ++j)
        if (j != v) q += Acc(targets[(j * p.b + b) * p.k + k]);
    return q;
}

template <typename Acc>
struct Sums3 {
    Acc sum, dot, mass;
};
template <typename Acc>
struct Sums3Add {
    MARROW_HOST_DEVICE Sums3<Acc> operator()(Sums3<Acc> a, Sums3<Acc> b) const {
        return {a.sum + b.sum, a.dot + b.dot, a.mass + b.mass};
    }
};

template <typename T>
__global__ void soft_ce_forward_kernel(Geometry p, const T* targets, const T* logits,
                                       const T* weights, T* row_loss, T* lse) {
    using Acc = acc_t<T>;
    int64_t r = blockIdx.x;
    const T* s = logits + r * p.k;
    Acc inv = Acc(p.inv_tau), m = -std::numeric_limits<Acc>::infinity();
    for (int64_t k = threadIdx.x; k < p.k; k += blockDim.x) m = Max<Acc>()(m, Acc(s[k]) * inv);
    m = block_reduce(m, -std::numeric_limits<Acc>::infinity(), Max<Acc>());
    Sums3<Acc> acc{Acc(0), Acc(0), Acc(0)};
    for (int64_t k = threadIdx.x; k < p.k; k += blockDim.x) {
        Acc zm = Acc(s[k]) * inv - m, q = target_at(p, targets, r, k);
        acc.sum += MARROW_MATH(exp)(zm);
        acc.dot += q * zm;
        acc.mass += q;
    }
    acc = block_reduce(acc, Sums3<Acc>{Acc(0), Acc(0), Acc(0)}, Sums3Add<Acc>());
    if (threadIdx.x == 0) {
        Acc w = Acc(p.scale) * (weights ? Acc(weights[r]) : Acc(1));
        lse[r] = T(m + MARROW_MATH(log)(acc.sum));
        row_loss[r] = T(w * (acc.mass * MARROW_MATH(log)(acc.sum) - acc.dot));
    }
}

template <typename T>
__global__ void soft_ce_backward_kernel(Geometry p, const T* targets, const T* logits,
                                        const T* weights, const T* lse, const T* g, T* d) {
    using Acc = acc_t<T>;
    int64_t r = blockIdx.x;
    const T* s = logits + r * p.k;
    Acc mass = Acc(0);
    for (int64_t k = threadIdx.x; k < p.k; k += blockDim.x) mass += target_at(p, targets, r, k);
    mass = block_reduce(mass, Acc(0), Add<Acc>());
    Acc inv = Acc(p.inv_tau), l = Acc(lse[r]);
    Acc coef = Acc(g[0]) * Acc(p.scale) * (weights ? Acc(weights[r]) : Acc(1)) * inv;
    for (int64_t k = threadIdx.x; k < p.k; k += blockDim.x)
        d[r * p.k + k] =
            T(coef * (mass * MARROW_MATH(exp)(Acc(s[k]) * inv - l) - target_at(p, targets, r, k)));
}

int row_threads(int64_t n) { return int(std::clamp<int64_t>((n / 4 + 31) / 32 * 32, 32, 512)); }

Geometry geometry(const SoftCrossEntropyParams& p) {
    return {p.t, p.b, p.k, p.inv_tau, p.scale, p.crops};
}

}  // namespace

void soft_cross_entropy(const SoftCrossEntropyParams& p, const Tensor& targets,
                        const Tensor& logits, const Tensor* weights, const Tensor& row_loss,
                        const Tensor& lse) {
    int64_t rows = p.v * p.b;
    if (rows == 0) return;
    visit_float(logits.dtype(), "soft_cross_entropy", [&]<typename T>() {
        auto* forward_k = &soft_ce_forward_kernel<T>;
        MARROW_LAUNCH(forward_k, unsigned(rows), row_threads(p.k), 0, geometry(p),
                      targets.data_ptr<T>(), logits.data_ptr<T>(), data_or_null<T>(weights),
                      row_loss.data_ptr<T>(), lse.data_ptr<T>());
    });
}

void soft_cross_entropy_backward(const SoftCrossEntropyParams& p, const Tensor& targets,
                                 const Tensor& logits, const Tensor* weights, const Tensor& lse,
                                 const Tensor& g, const Tensor& dlogits) {
    int64_t rows = p.v * p.b;
    if (rows == 0) return;
    visit_float(logits.dtype(), "soft_cross_entropy_backward", [&]<typename T>() {
        auto* backward_k = &soft_ce_backward_kernel<T>;
        MARROW_LAUNCH(backward_k, unsigned(rows), row_threads(p.k), 0, geometry(p),
                      targets.data_ptr<T>(), logits.data_ptr<T>(), data_or_null<T>(weights),
                      lse.data_ptr<T>(), g.data_ptr<T>(), dlogits.data_ptr<T>());
    });
}

}  // namespace marrow::cuda
