// CUDA reductions over the rows of an (M, R) matrix (layouts in tensor/kernels.h): one block
// per row, each thread striding over the row, then block_reduce (warp shuffles + shared
// memory, Note [Block reduction]). Deterministic: no atomics, a fixed combine order. Values are
// loaded as T and reduced in acc_t<T> (Note [Accumulator type]). Sums and means over leading dims
// arrive as columns (strides (1, M)) and use one thread per column instead, reading
// consecutive columns in consecutive threads (coalesced).
#include <cmath>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/block_reduce.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"

namespace marrow::cuda {
namespace {

// Every thread's share of sum_i f(x_i) over the row, in Acc = acc_t<T>, then block_reduce.
template <typename T, typename Acc = acc_t<T>>
__device__ Acc row_sum_of(const T* row, int64_t n, int kind, Acc shift, Acc p) {
    // kind: 0 x, 1 (x - shift)^2, 2 exp(x - shift), 3 |x|, 4 x^2, 5 |x|^p
    Acc acc = Acc(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        Acc v = Acc(row[i]);
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
    return block_reduce(acc, Acc(0), Add<Acc>());
}

template <typename T, typename Acc = acc_t<T>>
__device__ ArgBest<Acc> row_arg(const T* row, int64_t n, bool want_max) {
    ArgBetter<Acc> better{want_max};
    ArgBest<Acc> best = ArgBetter<Acc>::identity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) best = better(best, {Acc(row[i]), i});
    return block_reduce(best, ArgBetter<Acc>::identity(), better);
}

template <typename T>
__global__ void reduce_rows_kernel(ReduceOp op, const T* x, int64_t n, T* values, int64_t* indices,
                                   acc_t<T> correction, acc_t<T> p) {
    using Acc = acc_t<T>;
    int64_t m = blockIdx.x;
    const T* row = x + m * n;
    Acc out = Acc(0);
    switch (op) {
        case ReduceOp::sum:
            out = row_sum_of(row, n, 0, Acc(0), p);
            break;
        case ReduceOp::mean:
            out = row_sum_of(row, n, 0, Acc(0), p) / Acc(n);
            break;
        case ReduceOp::var: {
            Acc mean = row_sum_of(row, n, 0, Acc(0), p) / Acc(n);
            Acc denom = Acc(n) - correction;
            out = row_sum_of(row, n, 1, mean, p) / (denom > Acc(0) ? denom : Acc(0));
            break;
        }
        case ReduceOp::max:
        case ReduceOp::min: {
            ArgBest<Acc> best = row_arg(row, n, op == ReduceOp::max);
            out = best.value;
            if (indices && threadIdx.x == 0) indices[m] = best.index;
            break;
        }
        case ReduceOp::logsumexp: {
            Acc mx = row_arg(row, n, true).value;
            if (MARROW_MATH(isinf)(mx) || mx != mx)
                out = mx;
            else
                out = mx + MARROW_MATH(log)(row_sum_of(row, n, 2, mx, p));
            break;
        }
        case ReduceOp::norm:
            if (p == Acc(2))
                out = MARROW_MATH(sqrt)(row_sum_of(row, n, 4, Acc(0), p));
            else if (p == Acc(1))
                out = row_sum_of(row, n, 3, Acc(0), p);
            else
                out = MARROW_MATH(pow)(row_sum_of(row, n, 5, Acc(0), p), Acc(1) / p);
            break;
    }
    if (threadIdx.x == 0) values[m] = T(out);
}

// out[m] = sum_r x[r * M + m] (divided by R for a mean).
template <typename T>
__global__ void reduce_columns_kernel(const T* x, int64_t m, int64_t r, T* out, bool mean) {
    using Acc = acc_t<T>;
    for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < m;
         j += int64_t(blockDim.x) * gridDim.x) {
        Acc acc = Acc(0);
        for (int64_t i = 0; i < r; ++i) acc += Acc(x[i * m + j]);
        out[j] = T(mean ? acc / Acc(r) : acc);
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
            MARROW_LAUNCH(reduce_columns, blocks_for(m), kThreads, 0, x.data_ptr<T>(), m, n,
                          values.data_ptr<T>(), op == ReduceOp::mean);
            return;
        }
        auto* reduce_rows = &reduce_rows_kernel<T>;
        MARROW_CHECK(m <= 2147483647, "CUDA reduce: {} rows exceed the grid limit", m);
        MARROW_LAUNCH(reduce_rows, unsigned(m), kThreads, 0, op, x.data_ptr<T>(), n, values.data_ptr<T>(),
                      indices ? indices->data_ptr<int64_t>() : nullptr, acc_t<T>(p.correction),
                      acc_t<T>(p.p));
    });
}

}  // namespace marrow::cuda
