// The production softmax / log_softmax forward over contiguous rows (inner == 1): one block
// per row, three passes over the row (max, sum of exponentials, write) with deterministic block
// reductions. In a header so that the kernel ladder (cuda/dev/softmax.cu) measures exactly
// what ships.
#pragma once
#include <cstdint>
#include <limits>

#include "cuda/kernels/block_reduce.h"
#include "cuda/launch.h"
#include "tensor/math/host_device.h"

namespace marrow::cuda {

// x, y: (rows, d) contiguous; launch with one block per row.
template <typename T>
__global__ void softmax_rows_kernel(bool log, const T* x, T* y, int64_t d) {
    const T* row = x + int64_t(blockIdx.x) * d;
    T* out = y + int64_t(blockIdx.x) * d;
    T mx = -std::numeric_limits<T>::infinity();
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) mx = Max<T>()(mx, row[i]);
    mx = block_reduce(mx, -std::numeric_limits<T>::infinity(), Max<T>());
    if (MARROW_MATH(isinf)(mx) && mx < T(0)) mx = T(0);  // all -inf: NaN result, as PyTorch
    T sum = T(0);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) sum += MARROW_MATH(exp)(row[i] - mx);
    sum = block_reduce(sum, T(0), Add<T>());
    T log_sum = MARROW_MATH(log)(sum);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        out[i] = log ? row[i] - mx - log_sum : MARROW_MATH(exp)(row[i] - mx) / sum;
}

}  // namespace marrow::cuda
