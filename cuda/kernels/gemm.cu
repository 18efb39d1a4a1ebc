// CUDA GEMM launcher: the kernel is cuda/kernels/gemm_tiled.cuh (versions 2 and 3 of the
// ladder in cuda/dev/gemm.cu); this picks the version and the grid, and splits batches
// beyond grid.z's limit.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/gemm_tiled.cuh"
#include "cuda/launch.h"

namespace marrow::cuda {

using gemm_v2::kBM;
using gemm_v2::kBN;
using gemm_v2::kThreads;
using gemm_v2::Operand;

// The kernel for (T, 16-byte loads, operand precision): precision applies to float only.
template <typename T, bool Vec4>
static auto* gemm_version(GemmPrecision precision) {
    if constexpr (std::is_same_v<T, float>) {
        if (precision == GemmPrecision::bf16)
            return &gemm_v2::gemm_tiled_kernel<T, Vec4, GemmPrecision::bf16>;
        if (precision == GemmPrecision::f16)
            return &gemm_v2::gemm_tiled_kernel<T, Vec4, GemmPrecision::f16>;
    }
    return &gemm_v2::gemm_tiled_kernel<T, Vec4, GemmPrecision::full>;
}

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
          GemmPrecision precision) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    if (batch == 0 || M == 0 || N == 0) return;
    visit_float(a.dtype(), "gemm", [&]<typename T>() {
        Operand am{a.stride(0), a.stride(1), a.stride(2)},
            bm{b.stride(0), b.stride(1), b.stride(2)};
        unsigned gx = unsigned((N + kBN - 1) / kBN), gy = unsigned((M + kBM - 1) / kBM);
        MARROW_CHECK(gy <= 65535, "CUDA gemm: M = {} needs {} row blocks (limit 65535)", M, gy);
        auto* gemm_tiled = gemm_version<T, false>(precision);
        if constexpr (std::is_same_v<T, float>)
            if (gemm_v2::vec4_ok(a.data_ptr<T>(), am, b.data_ptr<T>(), bm, N, K))
                gemm_tiled = gemm_version<T, true>(precision);
        for (int64_t b0 = 0; b0 < batch; b0 += 65535) {  // grid.z is limited to 65535
            unsigned gz = unsigned(std::min<int64_t>(65535, batch - b0));
            MARROW_LAUNCH(gemm_tiled, dim3(gx, gy, gz), kThreads, 0,
                          a.data_ptr<T>() + b0 * am.batch_stride, am,
                          b.data_ptr<T>() + b0 * bm.batch_stride, bm, c.data_ptr<T>() + b0 * M * N, M, N, K,
                          T(alpha), T(beta));
        }
    });
}

}  // namespace marrow::cuda
