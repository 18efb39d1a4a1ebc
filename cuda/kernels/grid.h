// Launch geometry shared by the 1-D CUDA kernels: 256-thread blocks, a grid of at most 4096
// blocks (enough to fill an H100 several times over), and grid-stride loops over the rest.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cuda/launch.h"
#include "tensor/tensor.h"

namespace marrow::cuda {

inline constexpr int kThreads = 256;
inline constexpr int64_t kMaxBlocks = 4096;

inline int blocks_for(int64_t n) {
    return int(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, kMaxBlocks));
}

// An optional tensor's data as a kernel argument: null when the tensor is absent (batch and
// layer norm's weight, bias, running buffers and wanted gradients).
template <typename T>
T* data_or_null(const Tensor* t) {
    return t ? t->data_ptr<T>() : nullptr;
}

}  // namespace marrow::cuda

// for (i = this thread's first index; i < n; i += all threads of the grid)
#define MARROW_GRID_STRIDE(i, n)                                              \
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
         i += int64_t(blockDim.x) * gridDim.x)
