// CUDA GEMM launcher: the kernels are cuda/kernels/gemm_tiled.cuh (SIMT; versions 2 and 3 of
// the ladder in cuda/dev/gemm.cu) and, for float32 under autocast, the tensor-core
// cuda/kernels/gemm_mma.cuh (version 4); this picks the kernel and the grid, and splits
// batches beyond grid.z's limit.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/gemm_mma.cuh"
#include "cuda/kernels/gemm_tiled.cuh"
#include "cuda/launch.h"

namespace marrow::cuda {

using gemm_v2::kBM;
using gemm_v2::kBN;
using gemm_v2::kThreads;
using gemm_v2::Operand;

// c = alpha round(a) @ round(b) + beta c on tensor cores (gemm_mma.cuh), float32 a, b, c.
static void gemm_tensor_cores(const Tensor& a, Operand am, const Tensor& b, Operand bm,
                              const Tensor& c, float alpha, float beta, GemmPrecision precision) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    using gemm_mma::kBM, gemm_mma::kBN;
    unsigned gx = unsigned((N + kBN - 1) / kBN), gy = unsigned((M + kBM - 1) / kBM);
    MARROW_CHECK(gy <= 65535, "CUDA gemm: M = {} needs {} row blocks (limit 65535)", M, gy);
    auto* kernel = precision == GemmPrecision::bf16
                       ? &gemm_mma::gemm_mma_kernel<GemmPrecision::bf16>
                       : &gemm_mma::gemm_mma_kernel<GemmPrecision::f16>;
    for (int64_t b0 = 0; b0 < batch; b0 += 65535) {  // grid.z is limited to 65535
        unsigned gz = unsigned(std::min<int64_t>(65535, batch - b0));
        MARROW_LAUNCH(kernel, dim3(gx, gy, gz), gemm_mma::kThreads, 0,
                      a.data_ptr<float>() + b0 * am.batch_stride, am,
                      b.data_ptr<float>() + b0 * bm.batch_stride, bm,
                      c.data_ptr<float>() + b0 * M * N, M, N, K, alpha, beta);
    }
}

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
          GemmPrecision precision) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    if (batch == 0 || M == 0 || N == 0) return;
    Operand am{a.stride(0), a.stride(1), a.stride(2)}, bm{b.stride(0), b.stride(1), b.stride(2)};
    if (a.dtype() == DType::f32 && precision != GemmPrecision::full)
        return gemm_tensor_cores(a, am, b, bm, c, float(alpha), float(beta), precision);
    visit_float(a.dtype(), "gemm", [&]<typename T>() {
        unsigned gx = unsigned((N + kBN - 1) / kBN), gy = unsigned((M + kBM - 1) / kBM);
        MARROW_CHECK(gy <= 65535, "CUDA gemm: M = {} needs {} row blocks (limit 65535)", M, gy);
        auto* gemm_tiled = &gemm_v2::gemm_tiled_kernel<T, false>;
        if constexpr (std::is_same_v<T, float>)
            if (gemm_v2::vec4_ok(a.data_ptr<T>(), am, b.data_ptr<T>(), bm, N, K))
                gemm_tiled = &gemm_v2::gemm_tiled_kernel<T, true>;
        for (int64_t b0 = 0; b0 < batch; b0 += 65535) {  // grid.z is limited to 65535
            unsigned gz = unsigned(std::min<int64_t>(65535, batch - b0));
            MARROW_LAUNCH(gemm_tiled, dim3(gx, gy, gz), kThreads, 0,
                          a.data_ptr<T>() + b0 * am.batch_stride, am,
                          b.data_ptr<T>() + b0 * bm.batch_stride, bm, c.data_ptr<T>() + b0 * M * N,
                          M, N, K, T(alpha), T(beta));
        }
    });
}

}  // namespace marrow::cuda
