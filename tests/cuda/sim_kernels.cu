// Kernels that exercise the simulator itself: barriers, shared memory (static and dynamic),
// warp shuffles and votes, atomics, and two deliberately broken kernels (a missing
// __syncthreads, and a barrier that some threads skip).
#include "tests/cuda/sim_kernels.h"

#include "cuda/kernels/mma.h"
#include "cuda/launch.h"

namespace {

// Block sum with shared memory and a tree of barriers. x: n floats, out: one per block.
__global__ void block_sum(const float* x, int n, float* out) {
    __shared__ float tile[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (int(threadIdx.x) < stride) tile[threadIdx.x] += tile[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = tile[0];
}

// Warp sum with __shfl_down_sync, then one atomicAdd per warp.
__global__ void warp_sum_atomic(const float* x, int n, float* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = i < n ? x[i] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) atomicAdd(out, v);
}

// Every lane reads lane (lane ^ 1) and lane 0 via __shfl_sync; ballot of odd lanes.
__global__ void shuffle_and_vote(int* swapped, int* from_zero, unsigned* ballot, int* any_all) {
    int lane = threadIdx.x % 32;
    swapped[threadIdx.x] = __shfl_xor_sync(0xffffffffu, int(threadIdx.x), 1);
    from_zero[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x) * 10, 0);
    unsigned b = __ballot_sync(0xffffffffu, lane % 2 == 1);
    if (threadIdx.x == 0) *ballot = b;
    int any = __any_sync(0xffffffffu, lane == 7), all = __all_sync(0xffffffffu, lane < 32);
    if (threadIdx.x == 0) *any_all = any * 10 + all;
}

// Reverses a block's worth of values through dynamic shared memory.
__global__ void reverse_dynamic(const int* x, int* y) {
    MARROW_DYNAMIC_SHARED(int, buf);
    buf[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    y[threadIdx.x] = buf[blockDim.x - 1 - threadIdx.x];
}

// out[t] = value written by thread t-1 (3 (t-1) + salt; a fresh salt per launch, so values
// left in shared memory by an earlier launch cannot pass for this one's). With the barrier it
// is correct in any order; without it, only when threads happen to run in index order.
__global__ void neighbour(int* out, bool with_barrier, int salt) {
    __shared__ int tile[128];
    tile[threadIdx.x] = int(threadIdx.x) * 3 + salt;
    if (with_barrier) __syncthreads();
    out[threadIdx.x] = threadIdx.x == 0 ? -1 : tile[threadIdx.x - 1];
}

// Thread 0 returns early; the rest wait at a barrier it will never reach.
__global__ void skipped_barrier(int* out) {
    if (threadIdx.x == 0) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

// Writes one element past the end of `out` (n elements).
__global__ void write_past_end(float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = 1.0f;  // the bug: <= instead of <
}

// One m16n8k16 tile on the tensor-core op, each lane building its fragments from global
// memory with PTX's own index formulas (not mma.h's): a (16 x 16) and b (16 x 8) row-major
// floats rounded to bf16 (or f16), c and d (16 x 8) row-major.
template <marrow::GemmPrecision P>
__global__ void mma_tile(const float* a, const float* b, const float* c, float* d) {
    using marrow::cuda::operand_bits;
    int lane = int(threadIdx.x) % 32, group = lane >> 2, tig = lane % 4;
    uint32_t af[4], bf[2];
    float cf[4], df[4];
    for (int r = 0; r < 4; ++r) {  // register r holds halves i = 2r, 2r + 1
        uint32_t reg = 0;
        for (int h = 0; h < 2; ++h) {
            int i = 2 * r + h;
            int row = (i < 2 || (i >= 4 && i < 6)) ? group : group + 8;
            int col = tig * 2 + (i & 1) + (i >= 4 ? 8 : 0);
            reg |= uint32_t(operand_bits<P>(a[row * 16 + col])) << (16 * h);
        }
        af[r] = reg;
    }
    for (int r = 0; r < 2; ++r) {
        uint32_t reg = 0;
        for (int h = 0; h < 2; ++h) {
            int i = 2 * r + h;
            int row = tig * 2 + (i & 1) + (i >= 2 ? 8 : 0);
            reg |= uint32_t(operand_bits<P>(b[row * 8 + group])) << (16 * h);
        }
        bf[r] = reg;
    }
    for (int i = 0; i < 4; ++i) cf[i] = c[(i < 2 ? group : group + 8) * 8 + tig * 2 + (i & 1)];
    marrow::cuda::mma_16816<P>(df, af, bf, cf);
    for (int i = 0; i < 4; ++i) d[(i < 2 ? group : group + 8) * 8 + tig * 2 + (i & 1)] = df[i];
}

}  // namespace

namespace marrow::simtest {

void run_mma_tile(const float* a, const float* b, const float* c, float* d, bool f16, int threads) {
    if (f16)
        MARROW_LAUNCH(mma_tile<GemmPrecision::f16>, 1, threads, 0, a, b, c, d);
    else
        MARROW_LAUNCH(mma_tile<GemmPrecision::bf16>, 1, threads, 0, a, b, c, d);
}

void run_block_sum(const float* x, int n, float* out, int blocks) {
    MARROW_LAUNCH(block_sum, blocks, 256, 0, x, n, out);
}
void run_warp_sum_atomic(const float* x, int n, float* out) {
    MARROW_LAUNCH(warp_sum_atomic, (n + 127) / 128, 128, 0, x, n, out);
}
void run_shuffle_and_vote(int* swapped, int* from_zero, unsigned* ballot, int* any_all) {
    MARROW_LAUNCH(shuffle_and_vote, 1, 32, 0, swapped, from_zero, ballot, any_all);
}
void run_reverse_dynamic(const int* x, int* y, int n) {
    MARROW_LAUNCH(reverse_dynamic, 1, n, n * sizeof(int), x, y);
}
void run_neighbour(int* out, bool with_barrier, int salt) {
    MARROW_LAUNCH(neighbour, 1, 128, 0, out, with_barrier, salt);
}
void run_skipped_barrier(int* out) { MARROW_LAUNCH(skipped_barrier, 1, 64, 0, out); }
void run_write_past_end(float* out, int n) {
    MARROW_LAUNCH(write_past_end, (n + 63) / 64 + 1, 64, 0, out, n);
}

}  // namespace marrow::simtest
