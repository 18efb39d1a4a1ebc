// CUDA kernels of the contrastive losses (NT-Xent, KoLeo), version 1: the products run on the
// existing CUDA GEMM and the l2 normalization on the normalize kernels (cuda/kernels/gemm.cu,
// pool.cu); the row work is ours (Note [Contrastive losses], tensor/cpu/contrastive.cpp;
// derivations in autograd/functions/contrastive.cpp):
//   nt_xent_rows_kernel       one block per row i of S = zn zn^T / tau: the diagonal skipped,
//                             online (max, sum of exp) by block_reduce, lse_i and the row's
//                             term lse_i - S_{i, p(i)}.
//   nt_xent_grad_kernel       one thread per element of H (2N x 2N):
//                             H_ij = c (exp(S_ij - lse_i) + exp(S_ij - lse_j) - 2 [j = p(i)]),
//                             H_ii = 0, c = g / (2N tau) read from device memory (no sync).
//   koleo_rows_kernel         one block per row of the Gram matrix: the first maximum with the
//                             diagonal as -1 (ArgBetter: NaN wins, lowest index on ties), then
//                             d_i = ||xh_i - xh_nn(i) + 1e-8|| by a block sum and the term.
//   koleo_grad_kernel         one block per row k of dxh, a thread per column: a_k u_k minus
//                             a_i u_i for every i with nn(i) = k, in i order (a gather: no
//                             atomics; each column thread scans all B indices, B^2 D compares:
//                             cheap at DINOv2's per-GPU batch of ~128, not at thousands).
//   loss_mean_kernel          one block: the row terms summed in a fixed order, / rows.
// Every reduction has a fixed order: the same bits on every run. Simulator-checked (parity
// tier); never run on a GPU.
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

constexpr int kRowThreads = 256;
constexpr double kNtXentEps = 1e-12;   // F.normalize's default
constexpr double kPairwiseEps = 1e-8;  // nn.PairwiseDistance(2, eps=1e-8) in KoLeoLoss

// ---- NT-Xent

template <typename T>
__global__ void nt_xent_rows_kernel(const T* s, T* lse, acc_t<T>* terms, int64_t m) {
    using Acc = acc_t<T>;
    int64_t i = blockIdx.x;
    const T* row = s + i * m;
    MaxSum<Acc> ms = MaxSumCombine<Acc>::identity();
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x)
        if (j != i) ms = MaxSumCombine<Acc>()(ms, MaxSum<Acc>{Acc(row[j]), Acc(1)});
    ms = block_reduce(ms, MaxSumCombine<Acc>::identity(), MaxSumCombine<Acc>());
    if (threadIdx.x == 0) {
        Acc l = ms.m + MARROW_MATH(log)(ms.s);
        lse[i] = T(l);
        terms[i] = l - Acc(row[(i + m / 2) % m]);
    }
}

template <typename T>
__global__ void nt_xent_grad_kernel(T* s, const T* lse, const T* g, int64_t m, double scale) {
    using Acc = acc_t<T>;
    Acc c = Acc(g[0]) * Acc(scale);
    MARROW_GRID_STRIDE(e, m * m) {
        int64_t i = e / m, j = e % m;
        Acc v = Acc(s[e]);
        Acc h = c * (MARROW_MATH(exp)(v - Acc(lse[i])) + MARROW_MATH(exp)(v - Acc(lse[j])));
        if (j == (i + m / 2) % m) h -= Acc(2) * c;
        s[e] = i == j ? T(0) : T(h);
    }
}

// ---- KoLeo

template <typename T>
__global__ void koleo_rows_kernel(const T* dots, const T* xh, int64_t* nn, acc_t<T>* terms,
                                  int64_t b, int64_t dim, double eps) {
    using Acc = acc_t<T>;
    int64_t i = blockIdx.x;
    ArgBest<T> best = ArgBetter<T>::identity();
    for (int64_t j = threadIdx.x; j < b; j += blockDim.x)
        best = arg_better(best, ArgBest<T>{j == i ? T(-1) : dots[i * b + j], j}, true);
    best = block_reduce(best, ArgBetter<T>::identity(), ArgBetter<T>{true});
    int64_t j = best.index;
    Acc sq = Acc(0);
    for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) {
        Acc u = Acc((xh[i * dim + k] - xh[j * dim + k]) + T(kPairwiseEps));
        sq += u * u;
    }
    sq = block_reduce(sq, Acc(0), Add<Acc>());
    if (threadIdx.x == 0) {
        nn[i] = j;
        terms[i] = -MARROW_MATH(log)(MARROW_MATH(sqrt)(sq) + Acc(eps));
    }
}

// coef_i = dL/dd_i / d_i = -g / (B (d_i + eps) d_i), 0 where d_i = 0 (torch's norm backward).
template <typename T>
__global__ void koleo_coef_kernel(const T* xh, const int64_t* nn, const T* g, acc_t<T>* coef,
                                  int64_t b, int64_t dim, double eps) {
    using Acc = acc_t<T>;
    int64_t i = blockIdx.x, j = nn[i];
    Acc sq = Acc(0);
    if (j >= 0 && j < b)
        for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) {
            Acc u = Acc((xh[i * dim + k] - xh[j * dim + k]) + T(kPairwiseEps));
            sq += u * u;
        }
    sq = block_reduce(sq, Acc(0), Add<Acc>());
    if (threadIdx.x == 0) {
        Acc d = MARROW_MATH(sqrt)(sq);
        coef[i] = d > Acc(0) ? -Acc(g[0]) / (Acc(b) * (d + Acc(eps)) * d) : Acc(0);
    }
}

// Row k of dxh: a_k u_k - sum over i with nn(i) = k of a_i u_i (i ascending, as the CPU).
// Indices out of range (never made by the forward) contribute nothing.
template <typename T>
__global__ void koleo_grad_kernel(const T* xh, const int64_t* nn, const acc_t<T>* coef, T* dxh,
                                  int64_t b, int64_t dim) {
    using Acc = acc_t<T>;
    int64_t k = blockIdx.x, own = nn[k];
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
        Acc v = Acc(0);
        if (own >= 0 && own < b)
            v = Acc(T(coef[k] * Acc((xh[k * dim + c] - xh[own * dim + c]) + T(kPairwiseEps))));
        for (int64_t i = 0; i < b; ++i) {
            if (nn[i] != k) continue;
            v = Acc(T(v - coef[i] * Acc((xh[i * dim + c] - xh[k * dim + c]) + T(kPairwiseEps))));
        }
        dxh[k * dim + c] = T(v);
    }
}

template <typename T>
__global__ void loss_mean_kernel(const acc_t<T>* terms, int64_t n, T* loss) {
    using Acc = acc_t<T>;
    Acc s = Acc(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += terms[i];
    s = block_reduce(s, Acc(0), Add<Acc>());
    if (threadIdx.x == 0) loss[0] = T(s / Acc(n));
}

// ---- host helpers

// x (rows, d) contiguous viewed as normalize's (outer, D, inner) = (rows, d, 1).
Tensor as_columns(const Tensor& x) {
    return x.as_strided({x.size(0), x.size(1), 1}, {x.size(1), 1, 1}, x.offset());
}
Tensor normalized(const Tensor& x, double eps) {
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    normalize(2.0, eps, as_columns(x), as_columns(y));
    return y;
}
// alpha y y^T for y (rows, d) contiguous: (rows, rows), by the GEMM kernel.
Tensor gram(const Tensor& y, double alpha) {
    int64_t rows = y.size(0), d = y.size(1);
    Tensor s = empty({rows, rows}, y.dtype(), y.device());
    gemm(y.as_strided({1, rows, d}, {rows * d, d, 1}, y.offset()),
         y.as_strided({1, d, rows}, {rows * d, 1, d}, y.offset()),
         s.as_strided({1, rows, rows}, {rows * rows, rows, 1}, s.offset()), alpha, 0,
         GemmPrecision::full);
    return s;
}
template <typename T>
void mean_into(const Tensor& terms, int64_t n, const Tensor& loss) {
    auto* loss_mean = &loss_mean_kernel<T>;
    MARROW_LAUNCH(loss_mean, 1, kRowThreads, 0, terms.data_ptr<acc_t<T>>(), n, loss.data_ptr<T>());
}

}  // namespace

void nt_xent(double temperature, const Tensor& z, const Tensor& loss, const Tensor& lse) {
    visit_float(z.dtype(), "nt_xent", [&]<typename T>() {
        int64_t m = z.size(0);
        Tensor s = gram(normalized(z, kNtXentEps), 1.0 / temperature);
        Tensor terms = empty({m}, z.dtype(), z.device());  // acc_t<T> is T for f32 and f64
        auto* nt_xent_rows = &nt_xent_rows_kernel<T>;
        MARROW_LAUNCH(nt_xent_rows, unsigned(m), kRowThreads, 0, s.data_ptr<T>(), lse.data_ptr<T>(),
                      terms.data_ptr<acc_t<T>>(), m);
        mean_into<T>(terms, m, loss);
    });
}

void nt_xent_backward(double temperature, const Tensor& z, const Tensor& lse, const Tensor& g,
                      const Tensor& gz) {
    visit_float(z.dtype(), "nt_xent_backward", [&]<typename T>() {
        int64_t m = z.size(0), d = z.size(1);
        Tensor zn = normalized(z, kNtXentEps);
        Tensor h = gram(zn, 1.0 / temperature);
        auto* nt_xent_grad = &nt_xent_grad_kernel<T>;
        MARROW_LAUNCH(nt_xent_grad, blocks_for(m * m), kThreads, 0, h.data_ptr<T>(),
                      lse.data_ptr<T>(), g.data_ptr<T>(), m, 1.0 / (double(m) * temperature));
        Tensor dzn = empty(z.shape(), z.dtype(), z.device());
        gemm(h.as_strided({1, m, m}, {m * m, m, 1}, h.offset()),
             zn.as_strided({1, m, d}, {m * d, d, 1}, zn.offset()),
             dzn.as_strided({1, m, d}, {m * d, d, 1}, dzn.offset()), 1.0, 0.0, GemmPrecision::full);
        normalize_backward(2.0, kNtXentEps, as_columns(z), as_columns(dzn), as_columns(gz));
    });
}

void koleo_loss(double eps, const Tensor& x, const Tensor& loss, const Tensor& nn) {
    visit_float(x.dtype(), "koleo_loss", [&]<typename T>() {
        int64_t b = x.size(0), dim = x.size(1);
        Tensor xh = normalized(x, eps);
        Tensor dots = gram(xh, 1.0);
        Tensor terms = empty({b}, x.dtype(), x.device());
        auto* koleo_rows = &koleo_rows_kernel<T>;
        MARROW_LAUNCH(koleo_rows, unsigned(b), kRowThreads, 0, dots.data_ptr<T>(), xh.data_ptr<T>(),
                      nn.data_ptr<int64_t>(), terms.data_ptr<acc_t<T>>(), b, dim, eps);
        mean_into<T>(terms, b, loss);
    });
}

void koleo_loss_backward(double eps, const Tensor& x, const Tensor& nn, const Tensor& g,
                         const Tensor& gx) {
    visit_float(x.dtype(), "koleo_loss_backward", [&]<typename T>() {
        int64_t b = x.size(0), dim = x.size(1);
        Tensor xh = normalized(x, eps);
        Tensor coef = empty({b}, x.dtype(), x.device());
        auto* koleo_coef = &koleo_coef_kernel<T>;
        MARROW_LAUNCH(koleo_coef, unsigned(b), kRowThreads, 0, xh.data_ptr<T>(),
                      nn.data_ptr<int64_t>(), g.data_ptr<T>(), coef.data_ptr<acc_t<T>>(), b, dim,
                      eps);
        Tensor dxh = empty(x.shape(), x.dtype(), x.device());
        auto* koleo_grad = &koleo_grad_kernel<T>;
        MARROW_LAUNCH(koleo_grad, unsigned(b), kRowThreads, 0, xh.data_ptr<T>(),
                      nn.data_ptr<int64_t>(), coef.data_ptr<acc_t<T>>(), dxh.data_ptr<T>(), b, dim);
        normalize_backward(2.0, eps, as_columns(x), as_columns(dxh), as_columns(gx));
    });
}

}  // namespace marrow::cuda
