// CUDA batch normalization over x: (N, C, S) contiguous; channel c's values are the N runs
// of S elements at x + (n C + c) S. One fused kernel per direction and mode:
//   batch_norm_train_kernel     one block per channel: Welford (count, mean, M2) per thread,
//                               block_reduce with Chan's merge (fixed order: deterministic, no
//                               atomics), thread 0 stores mean/invstd and updates the running
//                               buffers, then the block writes y = x scale + shift.
//   batch_norm_eval_kernel      elementwise, grid-stride: y = x scale[c] + shift[c] from the
//                               running buffers; threads 0..C-1 also store mean/invstd.
//   batch_norm_backward_kernel  one block per channel: sum(g) and sum(g (x - mean)) by one
//                               block reduction, thread 0 stores dweight/dbias, then the block
//                               writes dx (training: the full formula; eval: g scale).
// Statistics in acc_t<T> (Note [Accumulator type]); formulas as tensor/cpu/norm.cpp (derivation
// in autograd/functions/norm.cpp). One block per channel puts C blocks on the device (64-2048
// for ResNets), each streaming its channel with 512 threads.
#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

constexpr int kChannelThreads = 512;

// Calls f(index) for this thread's values of channel ch, in a fixed order: along each row
// when rows are at least a block wide (no division per element), else over the flattened
// (n, s) index.
template <typename F>
__device__ inline void for_channel(int64_t ch, int64_t n, int64_t c, int64_t s, F f) {
    if (s >= int64_t(blockDim.x)) {
        for (int64_t in = 0; in < n; ++in) {
            int64_t row = (in * c + ch) * s;
            for (int64_t is = threadIdx.x; is < s; is += blockDim.x) f(row + is);
        }
    } else {
        for (int64_t i = threadIdx.x; i < n * s; i += blockDim.x) {
            int64_t in = i / s;
            f((in * c + ch) * s + (i - in * s));
        }
    }
}

template <typename T>
__global__ void batch_norm_train_kernel(const T* x, T* y, const T* weight, const T* bias,
                                        T* running_mean, T* running_var, T* save_mean,
                                        T* save_invstd, int64_t n, int64_t c, int64_t s,
                                        double momentum, double eps) {
    using Acc = acc_t<T>;
    int64_t ch = blockIdx.x, count = n * s;
    Welford<Acc> w = WelfordCombine<Acc>::identity();
    for_channel(ch, n, c, s, [&](int64_t at) { w = welford_push(w, Acc(x[at])); });
    w = block_reduce(w, WelfordCombine<Acc>::identity(), WelfordCombine<Acc>());
    Acc mean = w.mean, var = w.m2 / Acc(count);
    Acc invstd = Acc(1) / MARROW_MATH(sqrt)(var + Acc(eps));
    if (threadIdx.x == 0) {
        save_mean[ch] = T(mean);
        save_invstd[ch] = T(invstd);
        Acc m = Acc(momentum);
        if (running_mean) running_mean[ch] = T((Acc(1) - m) * Acc(running_mean[ch]) + m * mean);
        if (running_var) {
            Acc unbiased = var * Acc(count) / Acc(count - 1);  // count >= 2 (entry point)
            running_var[ch] = T((Acc(1) - m) * Acc(running_var[ch]) + m * unbiased);
        }
    }
    Acc scale = invstd * (weight ? Acc(weight[ch]) : Acc(1));
    Acc shift = (bias ? Acc(bias[ch]) : Acc(0)) - mean * scale;
    for_channel(ch, n, c, s, [&](int64_t at) { y[at] = T(Acc(x[at]) * scale + shift); });
}

template <typename T>
__global__ void batch_norm_eval_kernel(const T* x, T* y, const T* weight, const T* bias,
                                       const T* running_mean, const T* running_var, T* save_mean,
                                       T* save_invstd, int64_t n, int64_t c, int64_t s,
                                       double eps) {
    using Acc = acc_t<T>;
    MARROW_GRID_STRIDE(i, n * c * s) {
        int64_t ch = (i / s) % c;
        Acc mean = Acc(running_mean[ch]);
        Acc invstd = Acc(1) / MARROW_MATH(sqrt)(Acc(running_var[ch]) + Acc(eps));
        if (i < c) {  // one thread per channel stores what backward reads
            save_mean[i] = running_mean[i];
            save_invstd[i] = T(Acc(1) / MARROW_MATH(sqrt)(Acc(running_var[i]) + Acc(eps)));
        }
        Acc scale = invstd * (weight ? Acc(weight[ch]) : Acc(1));
        Acc shift = (bias ? Acc(bias[ch]) : Acc(0)) - mean * scale;
        y[i] = T(Acc(x[i]) * scale + shift);
    }
}

// Both backward sums of a channel, reduced together.
template <typename Acc>
struct SumDot {
    Acc sum, dot;  // sum(g), sum(g (x - mean))
};
template <typename Acc>
struct SumDotAdd {
    MARROW_HOST_DEVICE SumDot<Acc> operator()(SumDot<Acc> a, SumDot<Acc> b) const {
        return {a.sum + b.sum, a.dot + b.dot};
    }
};

template <typename T>
__global__ void batch_norm_backward_kernel(bool training, const T* x, const T* g, const T* mean,
                                           const T* invstd, const T* weight, T* dx, T* dweight,
                                           T* dbias, int64_t n, int64_t c, int64_t s) {
    using Acc = acc_t<T>;
    int64_t ch = blockIdx.x, count = n * s;
    Acc m = Acc(mean[ch]), is = Acc(invstd[ch]), w = weight ? Acc(weight[ch]) : Acc(1);
    SumDot<Acc> sd{Acc(0), Acc(0)};
    if (dweight || dbias || (training && dx)) {  // uniform over the block
        for_channel(ch, n, c, s, [&](int64_t at) {
            Acc gv = Acc(g[at]);
            sd.sum += gv;
            if (x) sd.dot += gv * (Acc(x[at]) - m);
        });
        sd = block_reduce(sd, SumDot<Acc>{Acc(0), Acc(0)}, SumDotAdd<Acc>());
    }
    if (threadIdx.x == 0) {
        if (dweight) dweight[ch] = T(sd.dot * is);
        if (dbias) dbias[ch] = T(sd.sum);
    }
    if (!dx) return;
    Acc scale = is * w;
    Acc grad_mean = training ? sd.sum / Acc(count) : Acc(0);
    Acc proj = training ? sd.dot * is * is / Acc(count) : Acc(0);
    for_channel(ch, n, c, s, [&](int64_t at) {
        Acc gv = Acc(g[at]);
        dx[at] = training ? T((gv - grad_mean - (Acc(x[at]) - m) * proj) * scale) : T(gv * scale);
    });
}

}  // namespace

void batch_norm(const BatchNormParams& params, const Tensor& x, const Tensor* weight,
                const Tensor* bias, const Tensor* running_mean, const Tensor* running_var,
                const Tensor& y, const Tensor& mean, const Tensor& invstd) {
    int64_t n = x.size(0), c = x.size(1), s = x.size(2);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), "batch_norm", [&]<typename T>() {
        if (params.training) {
            auto* batch_norm_train = &batch_norm_train_kernel<T>;
            MARROW_LAUNCH(batch_norm_train, unsigned(c), kChannelThreads, 0, x.data_ptr<T>(),
                          y.data_ptr<T>(), data_or_null<T>(weight), data_or_null<T>(bias),
                          data_or_null<T>(running_mean), data_or_null<T>(running_var),
                          mean.data_ptr<T>(), invstd.data_ptr<T>(), n, c, s, params.momentum,
                          params.eps);
        } else {
            auto* batch_norm_eval = &batch_norm_eval_kernel<T>;
            MARROW_LAUNCH(batch_norm_eval, blocks_for(n * c * s), kThreads, 0, x.data_ptr<T>(),
                          y.data_ptr<T>(), data_or_null<T>(weight), data_or_null<T>(bias),
                          data_or_null<T>(running_mean), data_or_null<T>(running_var),
                          mean.data_ptr<T>(), invstd.data_ptr<T>(), n, c, s, params.eps);
        }
    });
}

void batch_norm_backward(bool training, const Tensor* x, const Tensor& g, const Tensor& mean,
                         const Tensor& invstd, const Tensor* weight, const Tensor* dx,
                         const Tensor* dweight, const Tensor* dbias) {
    int64_t n = g.size(0), c = g.size(1), s = g.size(2);
    if (g.numel() == 0) return;
    visit_float(g.dtype(), "batch_norm_backward", [&]<typename T>() {
        auto* batch_norm_backward = &batch_norm_backward_kernel<T>;
        MARROW_LAUNCH(batch_norm_backward, unsigned(c), kChannelThreads, 0, training,
                      data_or_null<T>(x), g.data_ptr<T>(), mean.data_ptr<T>(), invstd.data_ptr<T>(),
                      data_or_null<T>(weight), data_or_null<T>(dx), data_or_null<T>(dweight),
                      data_or_null<T>(dbias), n, c, s);
    });
}

}  // namespace marrow::cuda
