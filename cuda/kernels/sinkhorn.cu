// CUDA Sinkhorn-Knopp over scores (B', K) contiguous, the log-domain potentials form of
// Note [Sinkhorn in the log domain] (tensor/cpu/sinkhorn.cpp), in acc_t<T>. Kernels:
//   sinkhorn_prototype_kernel  a thread per prototype k (neighbouring threads read
//                              neighbouring scores of a row): a_k = -log K - LSE_b (z_bk + c_b)
//                              with two passes down the B' rows (max, then exp sum).
//   sinkhorn_sample_kernel     a block per sample row b: c_b = -log B' - LSE_k (z_bk + a_k), or,
//                              in the last iteration, q_b = softmax_k (z_bk + a_k); maxima and
//                              sums by block_reduce (fixed order).
// Per iteration one launch of each; every value is summed by one thread or one fixed tree, so
// the bits do not depend on the run. Where a multi-GPU all-reduce would go: see the Note.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

template <typename T>
__global__ void sinkhorn_prototype_kernel(const T* s, const acc_t<T>* c, acc_t<T>* a, int64_t nb,
                                          int64_t nk, double eps) {
    using Acc = acc_t<T>;
    Acc inv_eps = Acc(1 / eps), log_k = MARROW_MATH(log)(Acc(nk));
    MARROW_GRID_STRIDE(k, nk) {
        Acc m = -std::numeric_limits<Acc>::infinity(), sum = Acc(0);
        for (int64_t b = 0; b < nb; ++b) m = Max<Acc>()(m, Acc(s[b * nk + k]) * inv_eps + c[b]);
        for (int64_t b = 0; b < nb; ++b)
            sum += MARROW_MATH(exp)(Acc(s[b * nk + k]) * inv_eps + c[b] - m);
        a[k] = -log_k - (m + MARROW_MATH(log)(sum));
    }
}

// last: write row b's softmax into q; otherwise c_b.
template <typename T>
__global__ void sinkhorn_sample_kernel(const T* s, const acc_t<T>* a, acc_t<T>* c, T* q, int64_t nb,
                                       int64_t nk, double eps, bool last) {
    using Acc = acc_t<T>;
    Acc inv_eps = Acc(1 / eps);
    int64_t b = blockIdx.x;
    const T* row = s + b * nk;
    Acc m = -std::numeric_limits<Acc>::infinity();
    for (int64_t k = threadIdx.x; k < nk; k += blockDim.x)
        m = Max<Acc>()(m, Acc(row[k]) * inv_eps + a[k]);
    m = block_reduce(m, -std::numeric_limits<Acc>::infinity(), Max<Acc>());
    Acc sum = Acc(0);
    for (int64_t k = threadIdx.x; k < nk; k += blockDim.x)
        sum += MARROW_MATH(exp)(Acc(row[k]) * inv_eps + a[k] - m);
    sum = block_reduce(sum, Acc(0), Add<Acc>());
    if (!last) {
        if (threadIdx.x == 0) c[b] = -MARROW_MATH(log)(Acc(nb)) - (m + MARROW_MATH(log)(sum));
        return;
    }
    for (int64_t k = threadIdx.x; k < nk; k += blockDim.x)
        q[b * nk + k] = T(MARROW_MATH(exp)(Acc(row[k]) * inv_eps + a[k] - m) / sum);
}

int row_threads(int64_t n) { return int(std::clamp<int64_t>((n / 4 + 31) / 32 * 32, 32, 512)); }

}  // namespace

void sinkhorn(const Tensor& scores, double epsilon, int64_t iterations, const Tensor& q) {
    int64_t nb = scores.size(0), nk = scores.size(1);
    visit_float(scores.dtype(), "sinkhorn_knopp", [&]<typename T>() {
        using Acc = acc_t<T>;
        DType acc = dtype_v<Acc>;
        Tensor a = empty({nk}, acc, scores.device()), c = zeros({nb}, acc, scores.device());
        auto* prototype_k = &sinkhorn_prototype_kernel<T>;
        auto* sample_k = &sinkhorn_sample_kernel<T>;
        for (int64_t it = 0; it < iterations; ++it) {
            MARROW_LAUNCH(prototype_k, blocks_for(nk), kThreads, 0, scores.data_ptr<T>(),
                          c.data_ptr<Acc>(), a.data_ptr<Acc>(), nb, nk, epsilon);
            MARROW_LAUNCH(sample_k, unsigned(nb), row_threads(nk), 0, scores.data_ptr<T>(),
                          a.data_ptr<Acc>(), c.data_ptr<Acc>(), q.data_ptr<T>(), nb, nk, epsilon,
                          it + 1 == iterations);
        }
    });
}

}  // namespace marrow::cuda
