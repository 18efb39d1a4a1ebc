// CUDA layer normalization over x: (M, N) contiguous, each row over its N values. Kernels:
//   layer_norm_kernel               one block per row: Welford (count, mean, M2) per thread,
//                                   block_reduce with Chan's merge (fixed order), thread 0
//                                   stores mean/rstd, then the block writes
//                                   y = (x - mean) rstd w + b.
//   layer_norm_backward_dx_kernel   one block per row: sum(g w) and sum(g w (x - mean)) by one
//                                   block reduction, then dx.
//   layer_norm_partials_kernel      dweight/dbias, stage 1: a block owns 256 columns and one
//                                   chunk of rows, each thread summing its column down the
//                                   chunk in row order (neighbouring threads read neighbouring
//                                   addresses) into the chunk's partial row.
//   layer_norm_sum_partials_kernel  stage 2: a thread per column sums the chunks' partials in
//                                   chunk order. No atomics: the same bits on every run.
// Statistics in acc_t<T> (Note [Accumulator type]); formulas as tensor/cpu/layer_norm.cpp,
// derivation in autograd/functions/layer_norm.cpp.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

// Threads per row block: about 4 values per thread, 32 to 512 threads (a multiple of 32, as
// block_reduce needs).
int row_threads(int64_t n) { return int(std::clamp<int64_t>((n / 4 + 31) / 32 * 32, 32, 512)); }

constexpr int kColumnThreads = 256;  // columns per block of the partials kernel

// Rows per chunk of the column sums: 32, more when M is large (at most 1024 chunks, within
// the grid's y limit of 65535). Depends on M alone, so the sums' order does too.
int64_t chunk_rows(int64_t m) { return std::max<int64_t>(32, (m + 1023) / 1024); }

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* weight, const T* bias, T* y, T* mean_out,
                                  T* rstd_out, int64_t n, double eps) {
    using Acc = acc_t<T>;
    int64_t row = blockIdx.x;
    const T* xr = x + row * n;
    Welford<Acc> s = WelfordCombine<Acc>::identity();
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s = welford_push(s, Acc(xr[j]));
    s = block_reduce(s, WelfordCombine<Acc>::identity(), WelfordCombine<Acc>());
    Acc mean = s.mean, rstd = Acc(1) / MARROW_MATH(sqrt)(s.m2 / Acc(n) + Acc(eps));
    if (threadIdx.x == 0) {
        mean_out[row] = T(mean);
        rstd_out[row] = T(rstd);
    }
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        Acc v = (Acc(xr[j]) - mean) * rstd;
        if (weight) v *= Acc(weight[j]);
        if (bias) v += Acc(bias[j]);
        y[row * n + j] = T(v);
    }
}

// The two sums of a row's backward, reduced together.
template <typename Acc>
struct SumDot {
    Acc sum, dot;  // sum(g w), sum(g w (x - mean))
};
template <typename Acc>
struct SumDotAdd {
    MARROW_HOST_DEVICE SumDot<Acc> operator()(SumDot<Acc> a, SumDot<Acc> b) const {
        return {a.sum + b.sum, a.dot + b.dot};
    }
};

template <typename T>
__global__ void layer_norm_backward_dx_kernel(const T* x, const T* g, const T* mean, const T* rstd,
                                              const T* weight, T* dx, int64_t n) {
    using Acc = acc_t<T>;
    int64_t row = blockIdx.x, base = row * n;
    Acc m = Acc(mean[row]), r = Acc(rstd[row]);
    SumDot<Acc> sd{Acc(0), Acc(0)};
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        Acc gw = Acc(g[base + j]) * (weight ? Acc(weight[j]) : Acc(1));
        sd.sum += gw;
        sd.dot += gw * (Acc(x[base + j]) - m);
    }
    sd = block_reduce(sd, SumDot<Acc>{Acc(0), Acc(0)}, SumDotAdd<Acc>());
    // dx = rstd g w - rstd sum / N - (x - mean) rstd^3 dot / N
    Acc k_mean = -r * sd.sum / Acc(n), k_x = -r * r * r * sd.dot / Acc(n);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        Acc gw = Acc(g[base + j]) * (weight ? Acc(weight[j]) : Acc(1));
        dx[base + j] = T(gw * r + ((Acc(x[base + j]) - m) * k_x + k_mean));
    }
}

// partial_w[chunk][j] = sum over the chunk's rows of g xhat, partial_b[chunk][j] = of g (each
// null when not wanted); grid (column blocks, chunks).
template <typename T>
__global__ void layer_norm_partials_kernel(const T* x, const T* g, const T* mean, const T* rstd,
                                           acc_t<T>* partial_w, acc_t<T>* partial_b, int64_t m,
                                           int64_t n, int64_t rows) {
    using Acc = acc_t<T>;
    int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, chunk = blockIdx.y;
    if (j >= n) return;
    int64_t r0 = chunk * rows, r1 = r0 + rows < m ? r0 + rows : m;
    Acc dw = Acc(0), db = Acc(0);
    for (int64_t r = r0; r < r1; ++r) {
        Acc gv = Acc(g[r * n + j]);
        if (partial_w) dw += gv * ((Acc(x[r * n + j]) - Acc(mean[r])) * Acc(rstd[r]));
        db += gv;
    }
    if (partial_w) partial_w[chunk * n + j] = dw;
    if (partial_b) partial_b[chunk * n + j] = db;
}

template <typename T>
__global__ void layer_norm_sum_partials_kernel(const acc_t<T>* partial, int64_t chunks, int64_t n,
                                               T* out) {
    using Acc = acc_t<T>;
    MARROW_GRID_STRIDE(j, n) {
        Acc s = Acc(0);
        for (int64_t c = 0; c < chunks; ++c) s += partial[c * n + j];
        out[j] = T(s);
    }
}

}  // namespace

void layer_norm(double eps, const Tensor& x, const Tensor* weight, const Tensor* bias,
                const Tensor& y, const Tensor& mean, const Tensor& rstd) {
    int64_t m = x.size(0), n = x.size(1);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), "layer_norm", [&]<typename T>() {
        auto* layer_norm_k = &layer_norm_kernel<T>;
        MARROW_LAUNCH(layer_norm_k, unsigned(m), row_threads(n), 0, x.data_ptr<T>(),
                      data_or_null<T>(weight), data_or_null<T>(bias), y.data_ptr<T>(),
                      mean.data_ptr<T>(), rstd.data_ptr<T>(), n, eps);
    });
}

void layer_norm_backward(const Tensor* x, const Tensor& g, const Tensor* mean, const Tensor* rstd,
                         const Tensor* weight, const Tensor* dx, const Tensor* dweight,
                         const Tensor* dbias) {
    int64_t m = g.size(0), n = g.size(1);
    if (g.numel() == 0) return;
    visit_float(g.dtype(), "layer_norm_backward", [&]<typename T>() {
        using Acc = acc_t<T>;
        if (dx) {
            auto* layer_norm_backward_dx = &layer_norm_backward_dx_kernel<T>;
            MARROW_LAUNCH(layer_norm_backward_dx, unsigned(m), row_threads(n), 0,
                          data_or_null<T>(x), g.data_ptr<T>(), data_or_null<T>(mean),
                          data_or_null<T>(rstd), data_or_null<T>(weight), data_or_null<T>(dx), n);
        }
        if (!dweight && !dbias) return;
        int64_t rows = chunk_rows(m), chunks = (m + rows - 1) / rows;
        // Partial rows of dweight then dbias, in acc_t<T> (the dtype of T for f32 and f64).
        Tensor partial = empty({2 * chunks * n}, g.dtype(), g.device());
        Acc* pw = dweight ? partial.data_ptr<Acc>() : nullptr;
        Acc* pb = dbias ? partial.data_ptr<Acc>() + chunks * n : nullptr;
        auto* layer_norm_partials = &layer_norm_partials_kernel<T>;
        dim3 grid(unsigned((n + kColumnThreads - 1) / kColumnThreads), unsigned(chunks));
        MARROW_LAUNCH(layer_norm_partials, grid, kColumnThreads, 0, data_or_null<T>(x),
                      g.data_ptr<T>(), data_or_null<T>(mean), data_or_null<T>(rstd), pw, pb, m, n,
                      rows);
        auto* layer_norm_sum_partials = &layer_norm_sum_partials_kernel<T>;
        if (dweight) {
            MARROW_LAUNCH(layer_norm_sum_partials, blocks_for(n), kThreads, 0, pw, chunks, n,
                          dweight->data_ptr<T>());
        }
        if (dbias) {
            MARROW_LAUNCH(layer_norm_sum_partials, blocks_for(n), kThreads, 0, pb, chunks, n,
                          dbias->data_ptr<T>());
        }
    });
}

}  // namespace marrow::cuda
