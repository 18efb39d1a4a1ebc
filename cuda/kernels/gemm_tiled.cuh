// The production CUDA GEMM kernel, versions 2 and 3 of the ladder in cuda/dev/gemm.cu (which
// #includes this file, so what is benchmarked there is what ships): c = alpha a @ b + beta c
// (SIMT, no tensor cores), batched over blockIdx.z, any strides for a and b, c contiguous.
// 64 x 64 block tiles, K in steps of 16 through shared memory (a stored k-major so the inner
// loop reads both tiles along rows), and a 4 x 4 register tile per thread, so each shared-
// memory value loaded feeds four FMAs. Version 3 (Vec4 = true: float, row-major operands,
// K, N and the row strides multiples of 4, 16-byte aligned) fills the tiles with 16-byte
// loads; version 2 loads element by element and takes any strides. Autocast's bf16 / f16
// GEMM is the tensor-core kernel, cuda/kernels/gemm_mma.cuh.
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

#include "cuda/kernels/vec.h"
#include "cuda/launch.h"

namespace marrow::cuda::gemm_v2 {

inline constexpr int kBM = 64, kBN = 64, kBK = 16, kTM = 4, kTN = 4;
inline constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256

struct Operand {
    int64_t batch_stride, row_stride, col_stride;
};

template <typename T, bool Vec4 = false>
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
        if constexpr (Vec4) {
            // a: each thread loads 4 consecutive k of one row; b: 4 consecutive columns.
            for (int i = int(threadIdx.x); i < kBM * kBK / 4; i += kThreads) {
                int mm = i / (kBK / 4), kq = 4 * (i % (kBK / 4));
                int64_t r = row0 + mm, k = k0 + kq;
                float4 v = r < M && k < K ? load4(a + r * am.row_stride + k) : float4{0, 0, 0, 0};
                as[kq][mm] = v.x;
                as[kq + 1][mm] = v.y;
                as[kq + 2][mm] = v.z;
                as[kq + 3][mm] = v.w;
            }
            for (int i = int(threadIdx.x); i < kBK * kBN / 4; i += kThreads) {
                int kk = i / (kBN / 4), nq = 4 * (i % (kBN / 4));
                int64_t k = k0 + kk, col = col0 + nq;
                float4 v =
                    k < K && col < N ? load4(b + k * bm.row_stride + col) : float4{0, 0, 0, 0};
                bs[kk][nq] = v.x;
                bs[kk][nq + 1] = v.y;
                bs[kk][nq + 2] = v.z;
                bs[kk][nq + 3] = v.w;
            }
        } else {
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

// Whether version 3 (16-byte tile loads) applies to these float operands.
inline bool vec4_ok(const void* a, Operand am, const void* b, Operand bm, int64_t N, int64_t K) {
    return aligned16(a) && aligned16(b) && am.col_stride == 1 && bm.col_stride == 1 && K % 4 == 0 &&
           N % 4 == 0 && am.row_stride % 4 == 0 && bm.row_stride % 4 == 0 &&
           am.batch_stride % 4 == 0 && bm.batch_stride % 4 == 0;
}

}  // namespace marrow::cuda::gemm_v2
