// Block-wide reductions for CUDA kernels (Note [Block reduction]): one building block for any
// associative combine over a small struct, and the combines the kernels use: sums, maxima,
// first arg-max/min, (max, sum of exponentials) pairs for online softmax, and Welford's
// (count, mean, M2) for means and variances.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "cuda/launch.h"
#include "tensor/math/host_device.h"

namespace marrow::cuda {

inline constexpr unsigned kFullMask = 0xffffffffu;

// Note [Block reduction]
// block_reduce(v, identity, combine) returns, in every thread of the block, the combine of
// all the threads' values. Requirements: blockDim.x is a multiple of 32 (full-warp shuffles;
// the simulator reports a warp with missing lanes) and every thread of the block calls it.
// The order is fixed, so a block gives the same bits on every run and in any thread order:
//   level 1 (no barrier): within each warp a shuffle tree, offsets 16, 8, 4, 2, 1, lane l
//     combining (its value, lane l + offset's), so lane 0 holds the warp's value;
//   level 2 (one barrier): lane 0 of warp w stores it in partial[w]; after the barrier every
//     warp reads the partials (lanes past the last warp read `identity`) and runs the same
//     tree, and lane 0's result is broadcast to the warp (a broadcast, not a butterfly: a
//     butterfly would combine in a different order on each lane).
// A second barrier at the end lets the next call with the same (T, Combine) reuse `partial`
// (a fast warp could otherwise overwrite it before a slow one has read it).
// combine(a, b) gets a from lower lanes than b; it must be associative and accept `identity`
// on either side. T is a small trivial struct (static __shared__ storage cannot run a
// constructor); it moves between lanes as 32-bit words.

// A warp shuffle `shfl` (called on an arithmetic value or on 32-bit words) applied to any
// trivially copyable T: a struct moves word by word.
template <typename T, typename Shfl>
__device__ inline T shfl_any(T v, Shfl shfl) {
    if constexpr (std::is_arithmetic_v<T>) {
        return shfl(v);
    } else {
        constexpr int kWords = int((sizeof(T) + 3) / 4);
        unsigned w[kWords] = {};
        memcpy(w, &v, sizeof(T));
        for (int i = 0; i < kWords; ++i) w[i] = shfl(w[i]);
        memcpy(&v, w, sizeof(T));
        return v;
    }
}
template <typename T>
__device__ inline T shfl_down(T v, int offset) {
    return shfl_any(v, [offset](auto x) { return __shfl_down_sync(kFullMask, x, offset); });
}
template <typename T>
__device__ inline T shfl_from(T v, int lane) {
    return shfl_any(v, [lane](auto x) { return __shfl_sync(kFullMask, x, lane); });
}

// The warp's values combined (level 1 of the note); the result is in lane 0 only.
template <typename T, typename Combine>
__device__ inline T warp_reduce(T v, Combine combine) {
    for (int offset = 16; offset > 0; offset /= 2) v = combine(v, shfl_down(v, offset));
    return v;
}

template <typename T, typename Combine>
__device__ T block_reduce(T v, T identity, Combine combine) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>,
                  "block_reduce: T must be a trivial struct (it lives in static __shared__)");
    __shared__ T partial[32];
    int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    int warps = int(blockDim.x) / 32;
    v = warp_reduce(v, combine);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = warp_reduce(lane < warps ? partial[lane] : identity, combine);
    v = shfl_from(v, 0);
    __syncthreads();  // `partial` may be reused by the next call
    return v;
}

// ---- combines ----

template <typename T>
struct Add {
    MARROW_HOST_DEVICE T operator()(T a, T b) const { return a + b; }
};
template <typename T>
struct Max {  // NaN wins, like PyTorch's max
    MARROW_HOST_DEVICE T operator()(T a, T b) const { return (a > b || a != a) ? a : b; }
};

// (value, index) of the first maximum (or minimum); NaN wins, like PyTorch's max/argmax; ties
// go to the lowest index (the CPU kernel's first occurrence). index -1 is the identity.
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
struct ArgBetter {
    bool want_max;
    MARROW_HOST_DEVICE ArgBest<T> operator()(ArgBest<T> a, ArgBest<T> b) const {
        return arg_better(a, b, want_max);
    }
    static MARROW_HOST_DEVICE ArgBest<T> identity() { return {T(0), int64_t(-1)}; }
};

// Online softmax's running pair: the maximum m seen and s = sum of e^(x - m) over what was
// seen (Milakov & Gimelshein 2018). Combining rescales both sums to the larger maximum; -inf
// contributes nothing, NaN propagates through the maximum. {-inf, 0} is the identity.
template <typename T>
struct MaxSum {
    T m, s;
};
template <typename T>
struct MaxSumCombine {
    static MARROW_HOST_DEVICE T rescaled(T s, T from, T to) {
        return from == -std::numeric_limits<T>::infinity() ? T(0) : s * MARROW_MATH(exp)(from - to);
    }
    MARROW_HOST_DEVICE MaxSum<T> operator()(MaxSum<T> a, MaxSum<T> b) const {
        T m = Max<T>()(a.m, b.m);
        return {m, rescaled(a.s, a.m, m) + rescaled(b.s, b.m, m)};
    }
    static MARROW_HOST_DEVICE MaxSum<T> identity() {
        return {-std::numeric_limits<T>::infinity(), T(0)};
    }
};

// Welford's running (count, mean, M2 = sum of squared deviations from the mean); variance is
// M2 / (count - correction). Combining two is Chan et al.'s parallel update (1979):
//   delta = mean_b - mean_a,  mean = mean_a + delta n_b / n,
//   M2 = M2_a + M2_b + delta^2 n_a n_b / n
// count 0 is the identity. welford_push adds one value (the same update with n_b = 1).
template <typename T>
struct Welford {
    int64_t count;
    T mean, m2;
};
template <typename T>
MARROW_HOST_DEVICE inline Welford<T> welford_push(Welford<T> w, T x) {
    w.count += 1;
    T delta = x - w.mean;
    w.mean += delta / T(w.count);
    w.m2 += delta * (x - w.mean);
    return w;
}
template <typename T>
struct WelfordCombine {
    MARROW_HOST_DEVICE Welford<T> operator()(Welford<T> a, Welford<T> b) const {
        if (b.count == 0) return a;
        if (a.count == 0) return b;
        int64_t n = a.count + b.count;
        T delta = b.mean - a.mean, b_share = T(b.count) / T(n);
        return {n, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * T(a.count) * b_share};
    }
    static MARROW_HOST_DEVICE Welford<T> identity() { return {0, T(0), T(0)}; }
};

}  // namespace marrow::cuda
