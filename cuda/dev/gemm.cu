// The SGEMM ladder (STYLE.md habits 1 and 10). Each version is checked against the CPU
// reference loop (tensor/cpu/gemm_reference.h) with the matmul_deep tolerance and, on a GPU,
// timed against cuBLAS when this is an nvcc build (bench/timing.h's GPU timer: CUDA events, L2
// flushed between calls, median).
//
//   version 1  naive: one thread per element of c, reading a and b from global memory
//   version 2  tiled: cuda/kernels/gemm_tiled.cuh (#included here, so what is measured is
//              what ships): 64x64 tiles through shared memory, 4x4 outputs per thread
//   version 3  version 2 filling the tiles with 16-byte loads: the production path for
//              row-major float operands with sizes that are multiples of 4
//   version 4  autocast's bf16 GEMM on tensor cores: cuda/kernels/gemm_mma.cuh (mma.sync
//              m16n8k16 through cuda/kernels/mma.h), checked against the reference on
//              bf16-rounded operands, timed against cuBLAS's FAST_16BF GEMM
//
// Run:  build/cuda/dev_gemm [--version 0 (all)] [--m 1024 --n 1024 --k 1024] [--check-only]
// On the SIMT simulator (MARROW_CUDA_SIM builds) it only checks: simulator timings are not
// performance. ctest runs a small check of every version (label cuda).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "autograd/ops.h"
#include "cuda/cuda_kernels.h"
#include "cuda/dev/ladder.h"
#include "cuda/kernels/gemm_mma.cuh"
#include "cuda/kernels/gemm_tiled.cuh"
#include "cuda/launch.h"
#include "tensor/cpu/gemm_reference.h"
#include "tests/compare.h"

using namespace marrow;

namespace {

__global__ void gemm_naive_kernel(const float* a, const float* b, float* c, int64_t M, int64_t N,
                                  int64_t K) {
    int64_t row = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
    int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (row >= M || col >= N) return;
    float acc = 0;
    for (int64_t k = 0; k < K; ++k) acc += a[row * K + k] * b[k * N + col];
    c[row * N + col] = acc;
}

// c = a @ b with version v; a (M, K), b (K, N), c (M, N), all contiguous on the device.
// Enqueues on the current stream (no synchronization: the timer brackets it).
void run_version(int v, const Tensor& a, const Tensor& b, const Tensor& c) {
    int64_t M = a.size(0), K = a.size(1), N = b.size(1);
    if (v == 1) {
        auto* naive = &gemm_naive_kernel;
        MARROW_LAUNCH(naive, dim3(unsigned((N + 15) / 16), unsigned((M + 15) / 16)), dim3(16, 16),
                      0, a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(), M, N, K);
    } else if (v == 4) {
        using namespace cuda::gemm_mma;
        auto* mma = &gemm_mma_kernel<GemmPrecision::bf16>;
        MARROW_LAUNCH(mma, dim3(unsigned((N + kBN - 1) / kBN), unsigned((M + kBM - 1) / kBM)),
                      kThreads, 0, a.data_ptr<float>(), Operand{0, K, 1}, b.data_ptr<float>(),
                      Operand{0, N, 1}, c.data_ptr<float>(), M, N, K, 1.0f, 0.0f);
    } else {
        using namespace cuda::gemm_v2;
        auto* tiled = v == 3 ? &gemm_tiled_kernel<float, true> : &gemm_tiled_kernel<float, false>;
        MARROW_LAUNCH(tiled, dim3(unsigned((N + kBN - 1) / kBN), unsigned((M + kBM - 1) / kBM)),
                      kThreads, 0, a.data_ptr<float>(), Operand{0, K, 1}, b.data_ptr<float>(),
                      Operand{0, N, 1}, c.data_ptr<float>(), M, N, K, 1.0f, 0.0f);
    }
}

}  // namespace

int main(int argc, char** argv) try {
    int version = 0;
    int64_t M = 1024, N = 1024, K = 1024;
    bool check_only = false;
    CLI::App cli{"SGEMM ladder: check (and on a GPU, time) each kernel version"};
    cli.add_option("--version", version,
                   "1 naive, 2 tiled, 3 tiled + float4 loads, 4 bf16 tensor cores; 0 all");
    cli.add_option("--m", M);
    cli.add_option("--n", N);
    cli.add_option("--k", K);
    cli.add_flag("--check-only", check_only, "validate, do not time");
    CLI11_PARSE(cli, argc, argv);
    check_only = check_only || !dev::kCanTime;
    Generator gen(3);
    Tensor a = randn({M, K}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({K, N}, DType::f32, Device::cpu(), gen);
    // The reference on the operands version v sees: version 4 rounds them to bf16.
    auto reference = [&](const Tensor& x, const Tensor& y) {
        Tensor r = zeros({M, N});
        cpu::gemm_reference<float>(M, N, K, x.data_ptr<float>(), K, 1, y.data_ptr<float>(), N, 1,
                                   r.data_ptr<float>(), N, 1, 1.0, 0.0);
        return r;
    };
    auto bf16 = [](const Tensor& x) { return to(to(x, DType::bf16), DType::f32); };
    Tensor ref = reference(a, b), ref_bf16 = reference(bf16(a), bf16(b));
    Tensor da = to(a, Device::cuda()), db = to(b, Device::cuda());
    Tensor dc = zeros({M, N}, DType::f32, Device::cuda());
    double flop = 2.0 * double(M) * N * K, vendor_s = 0, vendor_bf16_s = 0;
#if defined(MARROW_CUDA_NVCC)
    if (!check_only) {  // the peers: cuBLAS SGEMM (TF32 off), cuBLAS FAST_16BF (tensor cores)
        vendor_s = dev::median_seconds(
            [&] { cuda::gemm_cublas(da, db, dc, 1.0, 0.0, GemmPrecision::full); });
        vendor_bf16_s = dev::median_seconds(
            [&] { cuda::gemm_cublas(da, db, dc, 1.0, 0.0, GemmPrecision::bf16); });
        std::printf("cuBLAS      %.3f ms  %.1f GFLOP/s\n", vendor_s * 1e3, flop / vendor_s / 1e9);
        std::printf("cuBLAS bf16 %.3f ms  %.1f GFLOP/s\n", vendor_bf16_s * 1e3,
                    flop / vendor_bf16_s / 1e9);
    }
#endif
    bool ok = true;
    for (int v = 1; v <= 4; ++v) {
        if (version != 0 && v != version) continue;
        if (v == 3 && (K % 4 != 0 || N % 4 != 0)) continue;  // version 3 needs multiples of 4
        fill_(dc, std::nan(""));
        run_version(v, da, db, dc);
        synchronize(dc.device());
        test::Comparison cmp =
            test::compare(to(dc, Device::cpu()), v == 4 ? ref_bf16 : ref,
                          test::tolerance(test::TolClass::matmul_deep, DType::f32));
        ok = ok && cmp.ok;
        std::printf("version %d  %lldx%lldx%lld  %s  %s", v, (long long)M, (long long)N,
                    (long long)K, cmp.ok ? "ok" : "MISMATCH", cmp.detail.c_str());
        if (!check_only) {
            double s = dev::median_seconds([&] { run_version(v, da, db, dc); });
            double peer = v == 4 ? vendor_bf16_s : vendor_s;
            std::printf("  %.3f ms  %.1f GFLOP/s", s * 1e3, flop / s / 1e9);
            if (peer > 0) std::printf("  %.2fx cuBLAS%s", peer / s, v == 4 ? " bf16" : "");
        }
        std::printf("\n");
    }
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dev_gemm: error: %s\n", e.what());
    return 1;
}
