// The CUDA GEMM on tensor cores, for float32 operands under autocast (Note [Mixed precision],
// tensor/autocast.h): c = alpha round(a) @ round(b) + beta c, round() to bf16 or f16 (nearest
// even) as a tile is loaded, products on the warp-level mma tile op (cuda/kernels/mma.h),
// float32 accumulation. Batched over blockIdx.z, any strides for a and b, c contiguous.
//
// Tiling: a block of 4 warps computes a 64 x 64 tile of c, each warp a 32 x 32 quarter as
// 2 x 4 mma tiles of 16 x 8 (32 accumulators per lane). K advances 32 at a time through
// shared memory, where both operands sit k-contiguous as 16-bit values (A row-major m x k,
// B transposed n x k: each fragment register is one 32-bit load, mma.h), rows padded by 8
// values so the 8 groups of a fragment load hit different banks. Each operand is read from
// global memory along whichever of its axes has stride 1 (coalesced for a row-major or a
// transposed operand alike). Not yet: cp.async double buffering, ldmatrix, 128-wide tiles
// (docs/perf: measured only when a GPU is lent).
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

#include "cuda/kernels/gemm_tiled.cuh"
#include "cuda/kernels/mma.h"
#include "cuda/launch.h"

namespace marrow::cuda::gemm_mma {

using gemm_v2::Operand;
inline constexpr int kBM = 64, kBN = 64, kBK = 32, kPad = 8, kThreads = 128;
inline constexpr int kWarpM = 32, kWarpN = 32, kTilesM = kWarpM / 16, kTilesN = kWarpN / 8;

// Fills dst[r][k] (r < rows, k < kBK; row stride kBK + kPad) with src(row0 + r, k0 + k)
// rounded to P, zero outside (R x K): src element (r, k) at src[r * rs + k * ks]. Threads walk
// k fastest when ks == 1, else r fastest, so neighbouring threads read neighbouring floats.
template <GemmPrecision P, int Rows>
__device__ inline void load_tile(uint16_t (*dst)[kBK + kPad], const float* src, int64_t rs,
                                 int64_t ks, int64_t row0, int64_t R, int64_t k0, int64_t K) {
    bool k_fastest = ks == 1;
    for (int i = int(threadIdx.x); i < Rows * kBK; i += kThreads) {
        int r = k_fastest ? i / kBK : i % Rows, k = k_fastest ? i % kBK : i / Rows;
        int64_t gr = row0 + r, gk = k0 + k;
        dst[r][k] = operand_bits<P>(gr < R && gk < K ? src[gr * rs + gk * ks] : 0.0f);
    }
}

template <GemmPrecision P>
__global__ void gemm_mma_kernel(const float* a, Operand am, const float* b, Operand bm, float* c,
                                int64_t M, int64_t N, int64_t K, float alpha, float beta) {
    __shared__ uint16_t as[kBM][kBK + kPad];  // as[m][k]
    __shared__ uint16_t bs[kBN][kBK + kPad];  // bs[n][k]: B transposed
    a += int64_t(blockIdx.z) * am.batch_stride;
    b += int64_t(blockIdx.z) * bm.batch_stride;
    c += int64_t(blockIdx.z) * M * N;
    int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
    int group = lane / 4, tig = lane % 4;  // fragment coordinates (mma.h)
    int wm = (warp / 2) * kWarpM, wn = (warp % 2) * kWarpN;
    int64_t row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
    float acc[kTilesM][kTilesN][4] = {};
    for (int64_t k0 = 0; k0 < K; k0 += kBK) {
        load_tile<P, kBM>(as, a, am.row_stride, am.col_stride, row0, M, k0, K);
        load_tile<P, kBN>(bs, b, bm.col_stride, bm.row_stride, col0, N, k0, K);  // b^T
        __syncthreads();
        for (int kk = 0; kk < kBK; kk += 16) {
            uint32_t af[kTilesM][4], bf[kTilesN][2];
            for (int i = 0; i < kTilesM; ++i) {
                const uint16_t* top = &as[wm + 16 * i + group][kk + 2 * tig];
                const uint16_t* bottom = &as[wm + 16 * i + group + 8][kk + 2 * tig];
                af[i][0] = load_pair(top);
                af[i][1] = load_pair(bottom);
                af[i][2] = load_pair(top + 8);
                af[i][3] = load_pair(bottom + 8);
            }
            for (int j = 0; j < kTilesN; ++j) {
                const uint16_t* col = &bs[wn + 8 * j + group][kk + 2 * tig];
                bf[j][0] = load_pair(col);
                bf[j][1] = load_pair(col + 8);
            }
            for (int i = 0; i < kTilesM; ++i)
                for (int j = 0; j < kTilesN; ++j) mma_16816<P>(acc[i][j], af[i], bf[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < kTilesM; ++i)
        for (int j = 0; j < kTilesN; ++j)
            for (int e = 0; e < 4; ++e) {
                int64_t r = row0 + wm + 16 * i + group + 8 * (e / 2);
                int64_t col = col0 + wn + 8 * j + 2 * tig + e % 2;
                if (r >= M || col >= N) continue;
                float old = beta == 0.0f ? 0.0f : beta * c[r * N + col];  // beta 0 ignores NaN
                c[r * N + col] = alpha * acc[i][j][e] + old;
            }
}

}  // namespace marrow::cuda::gemm_mma
