// CUDA softmax / log_softmax (forward, backward) and cumsum over the middle dim D of an
// (outer, D, inner) contiguous tensor. inner == 1 (the usual last-dim case): one block per
// row with block reductions for the max and the sums. inner > 1: one thread per (outer,
// inner) column walking D (neighbouring threads read neighbouring addresses).
// Maxima, sums and running sums in acc_t<T> (Note [Accumulator type]). Formulas as in
// tensor/cpu/softmax.cpp:
//   softmax:     y = e^(x - max) / sum;   gx = y (g - sum_k g_k y_k)
//   log_softmax: y = x - max - log(sum);  gx = g - e^y sum_k g_k
#include <algorithm>
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/kernels/softmax_rows.cuh"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

template <typename T>
__global__ void softmax_backward_rows_kernel(bool log, const T* y, const T* g, T* gx, int64_t d) {
    using Acc = acc_t<T>;
    int64_t base = int64_t(blockIdx.x) * d;
    Acc dot = Acc(0);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        dot += log ? Acc(g[base + i]) : Acc(g[base + i]) * Acc(y[base + i]);
    dot = block_reduce(dot, Acc(0), Add<Acc>());
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        int64_t at = base + i;
        Acc yv = Acc(y[at]), gv = Acc(g[at]);
        gx[at] = T(log ? gv - MARROW_MATH(exp)(yv) * dot : yv * (gv - dot));
    }
}

#define MARROW_COLUMNS(col, outer, inner)                                                       \
    for (int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; col < (outer) * (inner); \
         col += int64_t(blockDim.x) * gridDim.x)

template <typename T>
__global__ void softmax_columns_kernel(bool log, const T* x, T* y, int64_t outer, int64_t d,
                                       int64_t inner) {
    using Acc = acc_t<T>;
    MARROW_COLUMNS(col, outer, inner) {
        int64_t base = (col / inner) * d * inner + col % inner;
        Acc mx = -std::numeric_limits<Acc>::infinity();
        for (int64_t k = 0; k < d; ++k) mx = Max<Acc>()(mx, Acc(x[base + k * inner]));
        if (MARROW_MATH(isinf)(mx) && mx < Acc(0)) mx = Acc(0);
        Acc sum = Acc(0);
        for (int64_t k = 0; k < d; ++k) sum += MARROW_MATH(exp)(Acc(x[base + k * inner]) - mx);
        Acc log_sum = MARROW_MATH(log)(sum);
        for (int64_t k = 0; k < d; ++k) {
            Acc v = Acc(x[base + k * inner]) - mx;
            y[base + k * inner] = T(log ? v - log_sum : MARROW_MATH(exp)(v) / sum);
        }
    }
}

template <typename T>
__global__ void softmax_backward_columns_kernel(bool log, const T* y, const T* g, T* gx,
                                                int64_t outer, int64_t d, int64_t inner) {
    using Acc = acc_t<T>;
    MARROW_COLUMNS(col, outer, inner) {
        int64_t base = (col / inner) * d * inner + col % inner;
        Acc dot = Acc(0);
        for (int64_t k = 0; k < d; ++k) {
            int64_t at = base + k * inner;
            dot += log ? Acc(g[at]) : Acc(g[at]) * Acc(y[at]);
        }
        for (int64_t k = 0; k < d; ++k) {
            int64_t at = base + k * inner;
            Acc yv = Acc(y[at]), gv = Acc(g[at]);
            gx[at] = T(log ? gv - MARROW_MATH(exp)(yv) * dot : yv * (gv - dot));
        }
    }
}

// Running sums in acc_t<T>, as the CPU kernel (Note [Accumulator type]).
template <typename T>
__global__ void cumsum_columns_kernel(const T* x, T* y, int64_t outer, int64_t d, int64_t inner) {
    using Acc = acc_t<T>;
    MARROW_COLUMNS(col, outer, inner) {
        int64_t base = (col / inner) * d * inner + col % inner;
        Acc acc = Acc(0);
        for (int64_t k = 0; k < d; ++k) {
            acc += Acc(x[base + k * inner]);
            y[base + k * inner] = T(acc);
        }
    }
}

}  // namespace

void softmax(bool log, const Tensor& x, const Tensor& y) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), log ? "log_softmax" : "softmax", [&]<typename T>() {
        if (inner == 1) {
            auto* softmax_rows = &softmax_rows_kernel<T>;
            MARROW_LAUNCH(softmax_rows, unsigned(outer), kThreads, 0, log, x.data_ptr<T>(), y.data_ptr<T>(),
                          d);
        } else {
            auto* softmax_columns = &softmax_columns_kernel<T>;
            MARROW_LAUNCH(softmax_columns, blocks_for(outer * inner), kThreads, 0, log, x.data_ptr<T>(),
                          y.data_ptr<T>(), outer, d, inner);
        }
    });
}

void softmax_backward(bool log, const Tensor& y, const Tensor& g, const Tensor& gx) {
    int64_t outer = y.size(0), d = y.size(1), inner = y.size(2);
    if (y.numel() == 0) return;
    visit_float(y.dtype(), "softmax_backward", [&]<typename T>() {
        if (inner == 1) {
            auto* softmax_backward_rows = &softmax_backward_rows_kernel<T>;
            MARROW_LAUNCH(softmax_backward_rows, unsigned(outer), kThreads, 0, log, y.data_ptr<T>(),
                          g.data_ptr<T>(), gx.data_ptr<T>(), d);
        } else {
            auto* softmax_backward_columns = &softmax_backward_columns_kernel<T>;
            MARROW_LAUNCH(softmax_backward_columns, blocks_for(outer * inner), kThreads, 0, log,
                          y.data_ptr<T>(), g.data_ptr<T>(), gx.data_ptr<T>(), outer, d, inner);
        }
    });
}

void cumsum(const Tensor& x, const Tensor& y) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), "cumsum", [&]<typename T>() {
        auto* cumsum_columns = &cumsum_columns_kernel<T>;
        MARROW_LAUNCH(cumsum_columns, blocks_for(outer * inner), kThreads, 0, x.data_ptr<T>(),
                      y.data_ptr<T>(), outer, d, inner);
    });
}

}  // namespace marrow::cuda
