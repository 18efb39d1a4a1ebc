// The softmax-over-rows ladder (STYLE.md habits 1 and 10). Each version computes
// y = softmax(x) over the last dim of a (rows, d) float tensor, is checked against the CPU
// kernel (the transcendental tolerance) and, on a GPU, timed as effective bandwidth (one read
// and one write of x: the traffic a perfect kernel needs) against a float4 copy of the same
// bytes measured in the same run, with the benchmarks' GPU timer (bench/timing.h).
//
//   version 1  naive: one thread per row, three passes over the row (max, sum, write)
//   version 2  one block per row, three passes with block reductions (warp shuffles): the
//              production kernel, cuda/kernels/softmax_rows.cuh, #included here
//   version 3  one block per row, the max and the sum in one pass (online softmax: a running
//              sum is rescaled by e^(old max - new max) when the max grows; MaxSum through
//              block_reduce, cuda/kernels/block_reduce.h), so x is read twice instead of three
//              times. Checked here; whether it beats version 2 needs a GPU.
//
// Run:  build-gpu/tests/dev_softmax [--version 0 (all)] [--rows 4096 --d 4096] [--check-only]
// ctest runs a small check of every version on the simulator (label cuda).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <limits>

#include "autograd/ops.h"
#include "cuda/dev/ladder.h"
#include "cuda/kernels/grid.h"
#include "cuda/kernels/softmax_rows.cuh"
#include "cuda/launch.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::cuda;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

__global__ void softmax_naive_kernel(const float* x, float* y, int64_t rows, int64_t d) {
    int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* row = x + r * d;
    float mx = kNegInf;
    for (int64_t i = 0; i < d; ++i) mx = Max<float>()(mx, row[i]);
    if (MARROW_MATH(isinf)(mx) && mx < 0) mx = 0;
    float sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += MARROW_MATH(exp)(row[i] - mx);
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = MARROW_MATH(exp)(row[i] - mx) / sum;
}

__global__ void softmax_online_kernel(const float* x, float* y, int64_t d) {
    const float* row = x + int64_t(blockIdx.x) * d;
    float* out = y + int64_t(blockIdx.x) * d;
    MaxSumCombine<float> combine;
    MaxSum<float> v = MaxSumCombine<float>::identity();
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) v = combine(v, {row[i], 1.0f});
    v = block_reduce(v, MaxSumCombine<float>::identity(), combine);
    float mx = (MARROW_MATH(isinf)(v.m) && v.m < 0) ? 0.0f : v.m;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
        out[i] = MARROW_MATH(exp)(row[i] - mx) / v.s;
}

__global__ void copy_float4_kernel(const float4* x, float4* y, int64_t n4) {
    MARROW_GRID_STRIDE(i, n4) y[i] = x[i];
}

// Enqueues version v on the current stream (no synchronization: the timer brackets it).
void run_version(int v, const Tensor& x, const Tensor& y) {
    int64_t rows = x.size(0), d = x.size(1);
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    if (v == 1) {
        auto* naive = &softmax_naive_kernel;
        MARROW_LAUNCH(naive, unsigned((rows + 127) / 128), 128, 0, px, py, rows, d);
    } else if (v == 2) {
        auto* production = &softmax_rows_kernel<float>;
        MARROW_LAUNCH(production, unsigned(rows), kThreads, 0, false, px, py, d);
    } else {
        auto* online = &softmax_online_kernel;
        MARROW_LAUNCH(online, unsigned(rows), kThreads, 0, px, py, d);
    }
}

}  // namespace

int main(int argc, char** argv) try {
    int version = 0;
    int64_t rows = 4096, d = 4096;
    bool check_only = false;
    CLI::App cli{"softmax ladder: check (and on a GPU, time) each kernel version"};
    cli.add_option("--version", version, "1 naive, 2 block per row, 3 online; 0 all");
    cli.add_option("--rows", rows);
    cli.add_option("--d", d);
    cli.add_flag("--check-only", check_only, "validate, do not time");
    CLI11_PARSE(cli, argc, argv);
    check_only = check_only || !dev::kCanTime;

    Generator gen(5);
    Tensor x = randn({rows, d}, DType::f32, Device::cpu(), gen) * 4.0;
    if (rows > 1) {  // edge rows: all -inf (NaN out, as PyTorch) and one NaN
        fill_(narrow(x, 0, 0, 1), -INFINITY);
        fill_(narrow(narrow(x, 0, 1, 1), 1, 0, 1), NAN);
    }
    Tensor ref = softmax(x, -1);
    Tensor dx = to(x, Device::cuda());
    Tensor dy = zeros({rows, d}, DType::f32, Device::cuda());
    double bytes = 2.0 * double(rows) * d * sizeof(float), copy_s = 0;
    if (!check_only && d % 4 == 0) {
        int64_t n4 = rows * d / 4;
        auto* copy = &copy_float4_kernel;
        copy_s = dev::median_seconds([&] {
            MARROW_LAUNCH(copy, blocks_for(n4), kThreads, 0,
                          reinterpret_cast<const float4*>(dx.data_ptr<float>()),
                          reinterpret_cast<float4*>(dy.data_ptr<float>()), n4);
        });
        std::printf("float4 copy  %.3f ms  %.1f GB/s\n", copy_s * 1e3, bytes / copy_s / 1e9);
    }
    bool ok = true;
    for (int v = 1; v <= 3; ++v) {
        if (version != 0 && v != version) continue;
        fill_(dy, std::nan(""));
        run_version(v, dx, dy);
        synchronize(dy.device());
        test::Comparison cmp =
            test::compare(to(dy, Device::cpu()), ref,
                          test::tolerance(test::TolClass::transcendental, DType::f32));
        ok = ok && cmp.ok;
        std::printf("version %d  %lldx%lld  %s  %s", v, (long long)rows, (long long)d,
                    cmp.ok ? "ok" : "MISMATCH", cmp.detail.c_str());
        if (!check_only) {
            double s = dev::median_seconds([&] { run_version(v, dx, dy); });
            std::printf("  %.3f ms  %.1f GB/s", s * 1e3, bytes / s / 1e9);
            if (copy_s > 0) std::printf("  %.2fx copy", copy_s / s);
        }
        std::printf("\n");
    }
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dev_softmax: error: %s\n", e.what());
    return 1;
}
