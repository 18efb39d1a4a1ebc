// The production CUDA GEMM kernel, version 2 of the ladder in cuda/dev/gemm.cu (which
// #includes this file, so what is benchmarked there is what ships): c = alpha a @ b + beta c
// (SIMT, no tensor cores), batched over blockIdx.z, any strides for a and b, c contiguous.
// 64 x 64 block tiles, K in steps of 16 through shared memory (a stored k-major so the inner
// loop reads both tiles along rows), and a 4 x 4 register tile per thread, so each shared-
// memory value loaded feeds four FMAs.
#pragma once
#include <cstdint>

#include "cuda/launch.h"

namespace marrow::cuda::gemm_v2 {

inline constexpr int kBM = 64, kBN = 64, kBK = 16, kTM = 4, kTN = 4;
inline constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256

struct Operand {
    int64_t batch_stride, row_stride, col_stride;
};

template <typename T>
__global__ void gemm_tiled_kernel(const T* a, Operand am, const T* b, Operand bm, T* c, int64_t M,
                                  int64_t N, int64_t K, T alpha, T beta) {
    __shared__ T as[kBK][kBM];  // as[k][m]
    __shared__ T bs[kBK][kBN];  // bs[k][n]
    a += int64_t(blockIdx.z) * am.batch_stride;
    b += int64_t(blockIdx.z) * bm.batch_stride;
    c += int64_t(blockIdx.z) * M * N;
    int tx = int(threadIdx.x) % (kBN / kTN), ty = int(threadIdx.x) / (kBN / kTN);
    int64_t row0 = int64_t(blockIdx.y) * kBM, col0 = int64_t(blockIdx.x) * kBN;
    T acc[kTM][kTN];
    for (int i = 0; i < kTM; ++i)
        for (int j = 0; j < kTN; ++j) acc[i][j] = T(0);
    for (int64_t k0 = 0; k0 < K; k0 += kBK) {
        for (int i = int(threadIdx.x); i < kBM * kBK; i += kThreads) {
            int mm = i / kBK, kk = i % kBK;
            int64_t r = row0 + mm, k = k0 + kk;
            as[kk][mm] = r < M && k < K ? a[r * am.row_stride + k * am.col_stride] : T(0);
        }
        for (int i = int(threadIdx.x); i < kBK * kBN; i += kThreads) {
            int kk = i / kBN, nn = i % kBN;
            int64_t k = k0 + kk, col = col0 + nn;
            bs[kk][nn] = k < K && col < N ? b[k * bm.row_stride + col * bm.col_stride] : T(0);
        }
        __syncthreads();
        for (int kk = 0; kk < kBK; ++kk) {
            T ra[kTM], rb[kTN];
            for (int i = 0; i < kTM; ++i) ra[i] = as[kk][ty * kTM + i];
            for (int j = 0; j < kTN; ++j) rb[j] = bs[kk][tx * kTN + j];
            for (int i = 0; i < kTM; ++i)
                for (int j = 0; j < kTN; ++j) acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < kTM; ++i) {
        int64_t r = row0 + ty * kTM + i;
        if (r >= M) continue;
        for (int j = 0; j < kTN; ++j) {
            int64_t col = col0 + tx * kTN + j;
            if (col >= N) continue;
            T old = beta == T(0) ? T(0) : beta * c[r * N + col];  // beta 0 ignores NaN in c
            c[r * N + col] = alpha * acc[i][j] + old;
        }
    }
}

}  // namespace marrow::cuda::gemm_v2
