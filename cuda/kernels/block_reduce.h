// Block-wide reductions for CUDA kernels: warp shuffles within each warp, then the warp
// leaders' partials through shared memory and one more warp pass. Every thread gets the
// result; the combine order is fixed, so results are the same bits on every run.
#pragma once
#include "cuda/launch.h"
#include "tensor/math/host_device.h"

namespace marrow::cuda {

inline constexpr unsigned kFullMask = 0xffffffffu;

template <typename T>
struct Add {
    MARROW_HOST_DEVICE T operator()(T a, T b) const { return a + b; }
};
template <typename T>
struct Max {  // NaN wins, like PyTorch's max
    MARROW_HOST_DEVICE T operator()(T a, T b) const { return (a > b || a != a) ? a : b; }
};

// v combined over the block with `combine` (associative); `identity` pads missing warps.
template <typename T, typename Combine>
__device__ T block_reduce(T v, T identity, Combine combine) {
    __shared__ T partial[32];
    __shared__ T result;
    for (int offset = 16; offset > 0; offset /= 2)
        v = combine(v, __shfl_down_sync(kFullMask, v, offset));
    int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    int warps = (int(blockDim.x) + 31) / 32;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? partial[lane] : identity;
        for (int offset = 16; offset > 0; offset /= 2)
            v = combine(v, __shfl_down_sync(kFullMask, v, offset));
        if (lane == 0) result = v;
    }
    __syncthreads();
    T out = result;
    __syncthreads();  // `result` and `partial` may be reused by the next call
    return out;
}

// (value, index) of the first maximum (or minimum); NaN wins, like PyTorch's max/argmax.
template <typename T>
struct ArgBest {
    T value;
    int64_t index;
};

template <typename T>
MARROW_HOST_DEVICE inline ArgBest<T> arg_better(ArgBest<T> a, ArgBest<T> b, bool want_max) {
    if (b.index < 0) return a;
    if (a.index < 0) return b;
    bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    if (a_nan || b_nan) return (a_nan && (!b_nan || a.index < b.index)) ? a : b;
    if (a.value == b.value) return a.index < b.index ? a : b;
    return (want_max ? a.value > b.value : a.value < b.value) ? a : b;
}

template <typename T>
__device__ ArgBest<T> block_arg_reduce(ArgBest<T> v, bool want_max) {
    __shared__ T partial_value[32];
    __shared__ int64_t partial_index[32];
    __shared__ ArgBest<T> result;
    for (int offset = 16; offset > 0; offset /= 2) {
        ArgBest<T> other{__shfl_down_sync(kFullMask, v.value, offset),
                         __shfl_down_sync(kFullMask, v.index, offset)};
        v = arg_better(v, other, want_max);
    }
    int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    int warps = (int(blockDim.x) + 31) / 32;
    if (lane == 0) {
        partial_value[warp] = v.value;
        partial_index[warp] = v.index;
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? ArgBest<T>{partial_value[lane], partial_index[lane]}
                         : ArgBest<T>{T(0), int64_t(-1)};
        for (int offset = 16; offset > 0; offset /= 2) {
            ArgBest<T> other{__shfl_down_sync(kFullMask, v.value, offset),
                             __shfl_down_sync(kFullMask, v.index, offset)};
            v = arg_better(v, other, want_max);
        }
        if (lane == 0) result = v;
    }
    __syncthreads();
    ArgBest<T> out = result;
    __syncthreads();
    return out;
}

}  // namespace marrow::cuda
