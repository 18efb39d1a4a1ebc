// CUDA reductions over the rows of an (M, R) matrix (layouts in tensor/kernels.h): one block
// per row, each thread striding over the row, then block_reduce (warp shuffles + shared
// memory). Deterministic: no atomics, a fixed combine order. Sums and means over leading dims
// arrive as columns (strides (1, M)) and use one thread per column instead, reading
// consecutive columns in consecutive threads (coalesced).
#include <cmath>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"

namespace marrow::cuda {
namespace {

template <typename T>
__device__ T row_sum_of(const T* row, int64_t n, int kind, T shift, T p) {
    // kind: 0 x, 1 (x - shift)^2, 2 exp(x - shift), 3 |x|, 4 x^2, 5 |x|^p
    T acc = T(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        T v = row[i];
        switch (kind) {
            case 0:
                acc += v;
                break;
            case 1:
                acc += (v - shift) * (v - shift);
                break;
            case 2:
                acc += MARROW_MATH(exp)(v - shift);
                break;
            case 3:
                acc += MARROW_MATH(abs)(v);
                break;
            case 4:
                acc += v * v;
                break;
            default:
                acc += MARROW_MATH(pow)(MARROW_MATH(abs)(v), p);
                break;
        }
    }
    return block_reduce(acc, T(0), Add<T>());
}

template <typename T>
__device__ ArgBest<T> row_arg(const T* row, int64_t n, bool want_max) {
    ArgBest<T> best{T(0), int64_t(-1)};
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        best = arg_better(best, ArgBest<T>{row[i], i}, want_max);
    return block_arg_reduce(best, want_max);
}

template <typename T>
__global__ void reduce_rows_kernel(ReduceOp op, const T* x, int64_t n, T* values, int64_t* indices,
                                   T correction, T p) {
    int64_t m = blockIdx.x;
    const T* row = x + m * n;
    T out = T(0);
    switch (op) {
        case ReduceOp::sum:
            out = row_sum_of(row, n, 0, T(0), p);
            break;
        case ReduceOp::mean:
            out = row_sum_of(row, n, 0, T(0), p) / T(n);
            break;
        case ReduceOp::var: {
            T mean = row_sum_of(row, n, 0, T(0), p) / T(n);
            T denom = T(n) - correction;
            out = row_sum_of(row, n, 1, mean, p) / (denom > T(0) ? denom : T(0));
            break;
        }
        case ReduceOp::max:
        case ReduceOp::min: {
            ArgBest<T> best = row_arg(row, n, op == ReduceOp::max);
            out = best.value;
            if (indices && threadIdx.x == 0) indices[m] = best.index;
            break;
        }
        case ReduceOp::logsumexp: {
            T mx = row_arg(row, n, true).value;
            if (MARROW_MATH(isinf)(mx) || mx != mx)
                out = mx;
            else
                out = mx + MARROW_MATH(log)(row_sum_of(row, n, 2, mx, p));
            break;
        }
        case ReduceOp::norm:
            if (p == T(2))
                out = MARROW_MATH(sqrt)(row_sum_of(row, n, 4, T(0), p));
            else if (p == T(1))
                out = row_sum_of(row, n, 3, T(0), p);
            else
                out = MARROW_MATH(pow)(row_sum_of(row, n, 5, T(0), p), T(1) / p);
            break;
    }
    if (threadIdx.x == 0) values[m] = out;
}

// out[m] = sum_r x[r * M + m] (divided by R for a mean).
template <typename T>
__global__ void reduce_columns_kernel(const T* x, int64_t m, int64_t r, T* out, bool mean) {
    for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < m;
         j += int64_t(blockDim.x) * gridDim.x) {
        T acc = T(0);
        for (int64_t i = 0; i < r; ++i) acc += x[i * m + j];
        out[j] = mean ? acc / T(r) : acc;
    }
}

}  // namespace

void reduce(ReduceOp op, const ReduceParams& p, const Tensor& x, const Tensor& values,
            const Tensor* indices) {
    int64_t m = x.size(0), n = x.size(1);
    if (m == 0) return;
    visit_float(x.dtype(), "reduce", [&]<typename T>() {
        if (n > 1 && x.stride(1) != 1) {  // column layout, strides (1, M): kernels.h
            auto* reduce_columns = &reduce_columns_kernel<T>;
            MARROW_LAUNCH(reduce_columns, blocks_for(m), kThreads, 0, x.data<T>(), m, n,
                          values.data<T>(), op == ReduceOp::mean);
            return;
        }
        auto* reduce_rows = &reduce_rows_kernel<T>;
        MARROW_CHECK(m <= 2147483647, "CUDA reduce: {} rows exceed the grid limit", m);
        MARROW_LAUNCH(reduce_rows, unsigned(m), kThreads, 0, op, x.data<T>(), n, values.data<T>(),
                      indices ? indices->data<int64_t>() : nullptr, T(p.correction), T(p.p));
    });
}

}  // namespace marrow::cuda
