// The SIMT simulator's CUDA surface: compiling a .cu kernel file with g++ and this header
// (MARROW_CUDA_SIM) gives the same source a CPU implementation. Each block's threads run as
// cooperative fibers (scheduler.cpp); what a kernel may use is defined here:
//   qualifiers     __global__ __device__ __host__ __forceinline__ __shared__ __restrict__
//   built-ins      threadIdx blockIdx blockDim gridDim warpSize
//   barriers       __syncthreads() __syncwarp(mask)
//   warp ops       __shfl_sync/_up/_down/_xor, __ballot_sync, __any_sync, __all_sync
//   tensor cores   through cuda/kernels/mma.h, emulated with warp_collective below
//   atomics        atomicAdd atomicMax atomicMin atomicCAS atomicExch, __threadfence()
//   math           the <cmath> float functions plus the __expf-style intrinsics below
// Static `__shared__` arrays become `static thread_local`: one copy per OS thread, shared by
// the fibers of the block running on it (blocks run one at a time per OS thread). Dynamic
// shared memory is spelled MARROW_DYNAMIC_SHARED(T, name) (defined for nvcc in launch.h),
// because `extern __shared__` cannot be rewritten by a macro.
//
// What the simulator does not model: timing, memory-model subtleties beyond barriers (all
// fibers see each other's writes immediately), Hopper-only instructions. docs/design.md.
#pragma once
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace marrow::sim {

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The fiber now running: its coordinates and lane.
struct ThreadState {
    dim3 thread_idx, block_idx, block_dim, grid_dim;
    int linear = 0;  // x + y * bx + z * bx * by
    int lane = 0;
    int warp = 0;
};
extern thread_local ThreadState* t_current;
inline ThreadState& current() { return *t_current; }

void syncthreads(const char* file, int line);
void syncwarp(unsigned mask, const char* file, int line);
void* dynamic_shared();

enum class WarpOp { shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all, sync, collective };
// A warp-wide instruction emulated once for the whole warp (a tensor-core mma): lanes[l] is
// what lane l passed to warp_collective (its operands and where its result goes).
using WarpCollective = void (*)(void* const lanes[32]);
// Deposits `value` for this lane, waits until every lane of `mask` (that exists) arrived at
// the same warp op, and returns the 8-byte value of lane `src` (or the vote result). For
// WarpOp::collective the last lane to arrive runs `collective` over all lanes' values first.
uint64_t warp_exchange(WarpOp op, unsigned mask, uint64_t value, int src, const char* file,
                       int line, WarpCollective collective = nullptr);
// The collective form: every one of the warp's 32 lanes must call it (as mma.sync.aligned
// requires; a partial warp is an error naming the kernel), each with its own `lane_data`;
// `fn` runs once, before any lane continues.
inline void warp_collective(void* lane_data, WarpCollective fn, const char* file, int line) {
    warp_exchange(WarpOp::collective, 0xffffffffu, reinterpret_cast<uint64_t>(lane_data), -1, file,
                  line, fn);
}

template <typename T>
uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return bits;
}
template <typename T>
T from_bits(uint64_t bits) {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
}

// Source lane of a shuffle within a segment of `width` lanes; -1 keeps the caller's value.
inline int shuffle_source(WarpOp op, int lane, int arg, int width) {
    int base = lane & ~(width - 1);
    switch (op) {
        case WarpOp::shfl:
            return base + (arg & (width - 1));
        case WarpOp::shfl_up:
            return lane - arg >= base ? lane - arg : -1;
        case WarpOp::shfl_down:
            return lane + arg < base + width ? lane + arg : -1;
        case WarpOp::shfl_xor: {
            int src = lane ^ arg;
            return src >= base && src < base + width ? src : -1;
        }
        default:
            return -1;
    }
}

template <typename T>
T shuffle(WarpOp op, unsigned mask, T v, int arg, int width, const char* file, int line) {
    int src = shuffle_source(op, current().lane, arg, width);
    uint64_t got = warp_exchange(op, mask, to_bits(v), src, file, line);
    return src < 0 ? v : from_bits<T>(got);
}

template <typename T>
T atomic_add(T* p, T v) {
    return std::atomic_ref<T>(*p).fetch_add(v);
}
template <typename T>
T atomic_cas(T* p, T expected, T desired) {
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
    return expected;
}
template <typename T>
T atomic_exch(T* p, T v) {
    return std::atomic_ref<T>(*p).exchange(v);
}
template <typename T>
T atomic_max(T* p, T v) {
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (old < v && !r.compare_exchange_weak(old, v)) {
    }
    return old;
}
template <typename T>
T atomic_min(T* p, T v) {
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (old > v && !r.compare_exchange_weak(old, v)) {
    }
    return old;
}

}  // namespace marrow::sim

using marrow::sim::dim3;

struct alignas(16) float4 {
    float x, y, z, w;
};

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static thread_local
#define threadIdx (::marrow::sim::current().thread_idx)
#define blockIdx (::marrow::sim::current().block_idx)
#define blockDim (::marrow::sim::current().block_dim)
#define gridDim (::marrow::sim::current().grid_dim)
#define warpSize 32
#define __syncthreads() ::marrow::sim::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::marrow::sim::syncwarp(MARROW_SIM_MASK(__VA_ARGS__), __FILE__, __LINE__)
#define MARROW_SIM_MASK(...) (0xffffffffu __VA_OPT__(&(__VA_ARGS__)))
#define MARROW_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::marrow::sim::dynamic_shared())

#define __shfl_sync(mask, v, src, ...)                                \
    ::marrow::sim::shuffle(::marrow::sim::WarpOp::shfl, mask, v, src, \
                           MARROW_SIM_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, d, ...)                                \
    ::marrow::sim::shuffle(::marrow::sim::WarpOp::shfl_up, mask, v, d, \
                           MARROW_SIM_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, d, ...)                                \
    ::marrow::sim::shuffle(::marrow::sim::WarpOp::shfl_down, mask, v, d, \
                           MARROW_SIM_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, m, ...)                                \
    ::marrow::sim::shuffle(::marrow::sim::WarpOp::shfl_xor, mask, v, m, \
                           MARROW_SIM_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define MARROW_SIM_WIDTH(...) (32 __VA_OPT__(*0 + (__VA_ARGS__)))
#define __ballot_sync(mask, p)                                                              \
    unsigned(::marrow::sim::warp_exchange(::marrow::sim::WarpOp::ballot, mask, bool(p), -1, \
                                          __FILE__, __LINE__))
#define __any_sync(mask, p)                                                                   \
    int(::marrow::sim::warp_exchange(::marrow::sim::WarpOp::any, mask, bool(p), -1, __FILE__, \
                                     __LINE__))
#define __all_sync(mask, p)                                                                   \
    int(::marrow::sim::warp_exchange(::marrow::sim::WarpOp::all, mask, bool(p), -1, __FILE__, \
                                     __LINE__))

template <typename T>
T atomicAdd(T* p, T v) {
    return ::marrow::sim::atomic_add(p, v);
}
template <typename T>
T atomicMax(T* p, T v) {
    return ::marrow::sim::atomic_max(p, v);
}
template <typename T>
T atomicMin(T* p, T v) {
    return ::marrow::sim::atomic_min(p, v);
}
template <typename T>
T atomicCAS(T* p, T e, T d) {
    return ::marrow::sim::atomic_cas(p, e, d);
}
template <typename T>
T atomicExch(T* p, T v) {
    return ::marrow::sim::atomic_exch(p, v);
}

// Orders this thread's earlier writes before its later ones for every other thread (blocks may
// run on several OS threads): a sequentially consistent fence.
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
inline float __int_as_float(int i) { return std::bit_cast<float>(i); }
inline unsigned __popc(unsigned x) { return unsigned(__builtin_popcount(x)); }
