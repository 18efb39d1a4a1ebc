// Matrix products. Parity tier: M = 130, N = 70 or 72, K = 40 cross the CUDA GEMM's 64-wide
// tiles and 16-deep K steps (N = 72: the 16-byte tile loads of row-major operands) and the
// CPU's 12 x 32 micro-tiles. Bench tier: today's GEMM sizes (MxNxK names, docs/perf/).
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_gemm(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "gemm");
    CaseRef mm_case =
        c.add("mm", "mm", {in({3, 4}), in({4, 5})}, [](const T& x) { return mm(x[0], x[1]); }, kMm)
            .parity({{130, 40}, {40, 72}});
    for (int64_t n : {128, 256, 512, 1024, 2048, 4096, 8192}) {
        // the CPU stops at 2048 (minutes per round beyond); the GPU starts at 1024
        BenchOn on = n < 1024 ? BenchOn::cpu : n > 2048 ? BenchOn::cuda : BenchOn::both;
        std::string name = fmt::format("{}x{}x{}", n, n, n);
        if (n == 1024)
            mm_case.bench_bwd(name, {{n, n}, {n, n}});
        else
            mm_case.bench(name, {{n, n}, {n, n}}, on);
    }
    mm_case.bench("4096x512x512", {{4096, 512}, {512, 512}})
        .bench("512x64x4096", {{512, 4096}, {4096, 64}});
    c.add("mm_transposed", "mm", {in({3, 4}, kAny, kT), in({4, 5}, kAny, kT)},
          [](const T& x) { return mm(x[0], x[1]); }, kMm)
        .parity({{130, 40}, {40, 70}});
    c.add("bmm", "bmm", {in({2, 3, 4}), in({2, 4, 5}, kAny, kT)},
          [](const T& x) { return bmm(x[0], x[1]); }, kMm)
        .parity({{3, 130, 40}, {3, 40, 70}})
        .bench("bmm_32x384x384x384", {{32, 384, 384}, {32, 384, 384}});
    // a (M, K) weight times a stack: the broadcast operand is packed once, and its gradient
    // sums over the batch
    c.add("matmul_bcast_a", "matmul", {in({3, 4}), in({2, 4, 5})},
          [](const T& x) { return matmul(x[0], x[1]); }, kMm)
        .parity({{130, 40}, {3, 40, 72}})
        .bench("bmm_32x384x384x384_a_bcast", {{384, 384}, {32, 384, 384}});
    c.add("matmul_broadcast", "matmul", {in({2, 1, 3, 4}), in({5, 4, 2})},
          [](const T& x) { return matmul(x[0], x[1]); }, kMm);
    c.add("matmul_fold", "matmul", {in({2, 3, 4}), in({4, 5})},
          [](const T& x) { return matmul(x[0], x[1]); }, kMm)
        .parity({{2, 65, 40}, {40, 70}});
    c.add("matmul_vec", "matmul", {in({3, 4}), in({4})},
          [](const T& x) { return matmul(x[0], x[1]); }, kMm)
        .parity({{130, 300}, {300}});
    c.add("matmul_dot", "matmul", {in({4}), in({4})}, [](const T& x) { return matmul(x[0], x[1]); },
          kMm);
    c.add("addmm", "addmm", {in({5}), in({3, 4}), in({4, 5})},
          [](const T& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }, kMm)
        .parity({{70}, {130, 40}, {40, 70}});
    c.add("linear", "linear", {in({2, 3, 4}), in({5, 4}), in({5})},
          [](const T& x) { return linear(x[0], x[1], x[2]); }, kMm)
        .parity({{2, 65, 40}, {70, 40}, {70}});
    c.add("linear_2d", "linear", {in({3, 4}, kAny, kS), in({5, 4})},
          [](const T& x) { return linear(x[0], x[1]); }, kMm);
    c.add("linear_bias_2d", "linear", {in({3, 4}), in({5, 4}), in({5})},
          [](const T& x) { return linear(x[0], x[1], x[2]); }, kMm);
    c.add("outer", "outer", {in({3}), in({4})}, [](const T& x) { return outer(x[0], x[1]); }, kMm)
        .parity({{130}, {70}});
    // clang-format on
}

}  // namespace marrow::test::cases
