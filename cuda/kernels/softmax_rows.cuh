// The production softmax / log_softmax forward over contiguous rows (inner == 1): one block
// per row, three passes over the row (max, sum of exponentials, write) with deterministic block
// reductions. In a header so that the kernel ladder (cuda/dev/softmax.cu) measures exactly
// what ships.
#pragma once
#include <cstdint>
#include <limits>

#include "cuda/kernels/block_reduce.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"
#include "tensor/math/host_device.h"

namespace marrow::cuda {

// x, y: (rows, d) contiguous; launch with one block per row (a multiple of 32 threads).
// Maxima and sums in acc_t<T> (Note [Accumulator type]).
template <typename T>
__global__ void softmax_rows_kernel(bool log, const T* x, T* y, int64_t d) {
    using Acc = acc_t<T>;
    constexpr Acc kNegInf = -std::numeric_limits<Acc>::infinity();
    const T* row = x + int64_t(blockIdx.x) * d;
    T* out = y + int64_t(blockIdx.x) * d;
    Acc mx = kNegInf;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) mx = Max<Acc>()(mx, Acc(row[i]));
    mx = block_reduce(mx, kNegInf, Max<Acc>());
    if (MARROW_MATH(isinf)(mx) && mx < Acc(0)) mx = Acc(0);  // all -inf: NaN result, as PyTorch
    Acc sum = Acc(0);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) sum += MARROW_MATH(exp)(Acc(row[i]) - mx);
    sum = block_reduce(sum, Acc(0), Add<Acc>());
    Acc log_sum = MARROW_MATH(log)(sum);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        Acc v = Acc(row[i]) - mx;
        out[i] = T(log ? v - log_sum : MARROW_MATH(exp)(v) / sum);
    }
}

}  // namespace marrow::cuda
