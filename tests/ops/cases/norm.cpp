// The normalization family: batch_norm in training (batch statistics) and eval (running
// statistics) modes, NCHW / (N, C, L) / (N, C), with and without the affine parameters, and
// the composed twin of the training form. Running buffers are constant inputs (running_var
// positive); their in-place update is checked against PyTorch by tests/ops/test_batch_norm.cpp
// (the registry compares outputs and gradients only). Parity tier: channels of 1105 and 1031
// values (past the CUDA kernels' 512-thread blocks and the CPU's 16-float vectors), rows of
// 600 (the CUDA kernels' along-the-row loop) and an eval-mode grid of 12372 elements.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

// The training form from differentiable reductions: per channel (all dims but 1) the mean and
// biased variance, then (x - mean) / sqrt(var + eps) w + b.
Tensor batch_norm_composed(const Tensor& x, const std::optional<Tensor>& w,
                           const std::optional<Tensor>& b, double eps) {
    Dims dims;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (d != 1) dims.push_back(d);
    Tensor mu = mean(x, dims, true);
    Tensor y = (x - mu) / sqrt(var(x, dims, false, true) + eps);
    Shape per_channel(size_t(x.dim()), 1);
    per_channel[1] = x.size(1);
    if (w) y = y * reshape(*w, per_channel);
    if (b) y = y + reshape(*b, per_channel);
    return y;
}

}  // namespace

void add_norm(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // Inputs in torch.nn.functional.batch_norm's order: x, running_mean, running_var,
    // weight, bias.
    // clang-format off
    CaseList c(list, "norm");
    auto stat = [](int64_t ch) { return constant({ch}); };
    auto var_stat = [](int64_t ch) { return constant({ch}, kPos); };
    c.add("batch_norm", "batch_norm", {in({3, 4, 3, 2}), stat(4), var_stat(4), in({4}), in({4})},
          [](const T& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], true, 0.1, 1e-5); },
          kRed)
        .parity({{5, 3, 17, 13}, {3}, {3}, {3}, {3}})
        .bench_bwd("batch_norm_32x64x72x72", {{32, 64, 72, 72}, {64}, {64}, {64}, {64}})
        .bench_bwd("batch_norm_32x256x9x9", {{32, 256, 9, 9}, {256}, {256}, {256}, {256}})
        .composed([](const T& x) { return batch_norm_composed(x[0], x[3], x[4], 1e-5); });
    c.add("batch_norm_2d", "batch_norm", {in({7, 5}, kAny, kS), in({5}), in({5})},
          [](const T& x) {
              return batch_norm(x[0], std::nullopt, std::nullopt, x[1], x[2], true, 0.1, 1e-5);
          }, kRed)
        .parity({{1031, 4}, {4}, {4}})
        .bench_bwd("batch_norm_256x2048", {{256, 2048}, {2048}, {2048}});  // SimCLR's head
    c.add("batch_norm_noaffine", "batch_norm", {in({2, 3, 4}, kAny, kT), stat(3), var_stat(3)},
          [](const T& x) {
              return batch_norm(x[0], x[1], x[2], std::nullopt, std::nullopt, true, 0.3, 1e-3);
          }, kRed)
        .parity({{3, 2, 600}, {2}, {2}});  // rows past a 512-thread block
    c.add("batch_norm_eval", "batch_norm", {in({3, 4, 5}), stat(4), var_stat(4), in({4}), in({4})},
          [](const T& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], false, 0.1, 1e-5); },
          kRed)
        .parity({{4, 3, 1031}, {3}, {3}, {3}, {3}})
        .bench_bwd("batch_norm_eval_32x64x72x72", {{32, 64, 72, 72}, {64}, {64}, {64}, {64}});
    c.add("batch_norm_eval_weight", "batch_norm",
          {in({5, 3, 2, 2}, kAny, kS), stat(3), var_stat(3), in({3})},
          [](const T& x) {
              return batch_norm(x[0], x[1], x[2], x[3], std::nullopt, false, 0.1, 1e-3);
          }, kRed);
    // clang-format on
}

}  // namespace marrow::test::cases
