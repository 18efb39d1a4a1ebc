// GEMM throughput with float32 and bf16 / f16 operands (autocast's GEMM, Note [Mixed
// precision] in tensor/autocast.h) at ViT shapes: x (M, K) @ W^T (K, N) as nn.Linear runs it,
// M = tokens of a batch (8 x 257 for ViT-S/14 at 224 px, 16 x 197 at 16 px patches).
// Prints one JSON line per (shape, precision): median milliseconds and GFLOP/s.
// bench/run_gemm_mixed.py runs it next to torch.matmul on float32 and bfloat16 tensors.
//
//   bench_gemm_mixed [--reps 15] [--precision full,bf16,f16] [--only INDEX]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "marrow.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/ops/linalg.h"

using namespace marrow;

int main(int argc, char** argv) {
    int reps = 15;
    std::vector<std::string> precisions{"full", "bf16", "f16"};
    CLI::App cli{"bf16 / f16 / f32 GEMM at ViT shapes"};
    cli.add_option("--reps", reps)->check(CLI::PositiveNumber);
    cli.add_option("--precision", precisions)->delimiter(',');
    int only = -1;  // one shape of the list (run_gemm_mixed.py interleaves ours and torch's)
    cli.add_option("--only", only);
    CLI11_PARSE(cli, argc, argv);
    const std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes{
        {8 * 257, 384, 1152}, {8 * 257, 384, 1536}, {8 * 257, 1536, 384}, {8 * 257, 384, 384},
        {16 * 197, 768, 2304}, {16 * 197, 768, 768}, {16 * 197, 3072, 768}};
    for (size_t i = 0; i < shapes.size(); ++i) {
        if (only >= 0 && size_t(only) != i) continue;
        auto [M, K, N] = shapes[i];
        Tensor x = randn({M, K}), w = randn({N, K});
        Tensor wt = transpose(w, 0, 1);  // nn.Linear: y = x W^T
        for (const std::string& name : precisions) {
            GemmPrecision p = name == "bf16"  ? GemmPrecision::bf16
                              : name == "f16" ? GemmPrecision::f16
                                              : GemmPrecision::full;
            std::vector<double> ms;
            for (int r = 0; r < reps + 2; ++r) {
                auto t0 = std::chrono::steady_clock::now();
                Tensor y = op::mm(x, wt, p);
                auto t1 = std::chrono::steady_clock::now();
                if (r >= 2) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            }
            std::sort(ms.begin(), ms.end());
            double med = ms[ms.size() / 2];
            std::printf(
                "{\"bench\": \"gemm_mixed\", \"M\": %lld, \"K\": %lld, \"N\": %lld, "
                "\"precision\": \"%s\", \"path\": \"%s\", \"ms\": %.4f, \"gflops\": %.1f}\n",
                (long long)M, (long long)K, (long long)N, name.c_str(),
                p == GemmPrecision::bf16 ? (cpu::gemm_bf16_native() ? "avx512_bf16" : "fallback")
                : p == GemmPrecision::f16 ? "fallback"
                                          : "f32",
                med, 2.0 * double(M) * double(K) * double(N) / med / 1e6);
        }
    }
    return 0;
}
