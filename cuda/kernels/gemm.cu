// CUDA SGEMM/DGEMM (SIMT, no tensor cores): c = alpha * a @ b + beta * c, batched over
// blockIdx.z, any strides for a and b (c contiguous). Version 1 of the ladder in
// cuda/dev/ (to come): 64 x 64 block tiles, K in steps of 16 through shared memory
// (a stored k-major so the inner loop reads both tiles along rows), and a 4 x 4 register
// tile per thread, so each shared-memory value loaded feeds four FMAs.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/launch.h"

namespace marrow::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kTM = 4, kTN = 4;
constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256

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

}  // namespace

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    if (batch == 0 || M == 0 || N == 0) return;
    visit_float(a.dtype(), "gemm", [&]<typename T>() {
        Operand am{a.stride(0), a.stride(1), a.stride(2)}, bm{b.stride(0), b.stride(1), b.stride(2)};
        unsigned gx = unsigned((N + kBN - 1) / kBN), gy = unsigned((M + kBM - 1) / kBM);
        MARROW_CHECK(gy <= 65535, "CUDA gemm: M = {} needs {} row blocks (limit 65535)", M, gy);
        auto* gemm_tiled = &gemm_tiled_kernel<T>;
        for (int64_t b0 = 0; b0 < batch; b0 += 65535) {  // grid.z is limited to 65535
            unsigned gz = unsigned(std::min<int64_t>(65535, batch - b0));
            MARROW_LAUNCH(gemm_tiled, dim3(gx, gy, gz), kThreads, 0,
                          a.data<T>() + b0 * am.batch_stride, am,
                          b.data<T>() + b0 * bm.batch_stride, bm, c.data<T>() + b0 * M * N, M, N,
                          K, T(alpha), T(beta));
        }
    });
}

}  // namespace marrow::cuda
