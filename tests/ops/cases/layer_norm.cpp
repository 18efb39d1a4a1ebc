// layer_norm: over the last dim and the last two, with weight and bias, either one or neither,
// frozen affine parameters (only dx computed) and a frozen input (only dweight / dbias), and the
// composed twin (mean, var, sub, div). The normalized shape is read from the weight's shape or,
// without one, is x's last dim, so the parity and bench shapes need no second copy of it.
// Parity tier: rows of 1031 (past the CUDA row blocks' 4 values per thread and the CPU's
// 4 x 16-float Welford steps, with a tail), one row, 300 rows of 5 (the column sums' 32-row
// chunks, all-tail rows), widths 17 and 91. Bench tier: the ViT-S/B/L token rows of DINOv2
// (B 8 x 257 tokens x 384, 16 x 197 x 768, 8 x 257 x 1024), forward and forward+backward.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

std::vector<int64_t> last_dims(const Tensor& x, int64_t k) {
    return std::vector<int64_t>(x.shape().end() - k, x.shape().end());
}

// The composed form: per row (the last k dims) the mean and biased variance, then
// (x - mean) / sqrt(var + eps) w + b, broadcast from the trailing dims.
Tensor layer_norm_composed(const Tensor& x, int64_t k, const std::optional<Tensor>& w,
                           const std::optional<Tensor>& b, double eps) {
    Dims dims;
    for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
    Tensor y = (x - mean(x, dims, true)) / sqrt(var(x, dims, false, true) + eps);
    if (w) y = y * *w;
    if (b) y = y + *b;
    return y;
}

}  // namespace

void add_layer_norm(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // Inputs in torch.nn.functional.layer_norm's order: x, weight, bias.
    // clang-format off
    CaseList c(list, "layer_norm");
    c.add("layer_norm", "layer_norm", {in({3, 4, 5}), in({5}), in({5})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], x[2]); }, kRed)
        .parity({{37, 1031}, {1031}, {1031}})
        .bench_bwd("layer_norm_vit_s", {{8 * 257, 384}, {384}, {384}})
        .bench_bwd("layer_norm_vit_b", {{16 * 197, 768}, {768}, {768}})
        .bench_bwd("layer_norm_vit_l", {{8 * 257, 1024}, {1024}, {1024}})
        .composed([](const T& x) { return layer_norm_composed(x[0], 1, x[1], x[2], 1e-5); });
    c.add("layer_norm_2d", "layer_norm", {in({2, 3, 4, 5}, kAny, kS), in({4, 5}), in({4, 5})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], x[2], 1e-4); }, kRed)
        .parity({{3, 2, 7, 13}, {7, 13}, {7, 13}})
        .composed([](const T& x) { return layer_norm_composed(x[0], 2, x[1], x[2], 1e-4); });
    c.add("layer_norm_noaffine", "layer_norm", {in({4, 7}, kAny, kT)},
          [](const T& x) { return layer_norm(x[0], last_dims(x[0], 1), std::nullopt, std::nullopt, 1e-3); },
          kRed)
        .parity({{1, 1031}})
        .composed([](const T& x) { return layer_norm_composed(x[0], 1, std::nullopt, std::nullopt, 1e-3); });
    // DINOv2's eps
    c.add("layer_norm_weight", "layer_norm", {in({2, 3, 6}), in({6})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], std::nullopt, 1e-6); }, kRed)
        .parity({{5, 2, 17}, {17}});
    c.add("layer_norm_bias", "layer_norm", {in({5, 3}), in({3})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), std::nullopt, x[1]); }, kRed)
        .parity({{300, 5}, {5}});
    // frozen affine parameters: only dx
    c.add("layer_norm_frozen_affine", "layer_norm", {in({4, 6}), constant({6}), constant({6})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], x[2]); }, kRed)
        .parity({{70, 33}, {33}, {33}});
    // a frozen input: dweight and dbias only (no dx)
    c.add("layer_norm_frozen_input", "layer_norm", {constant({6, 5}), in({5}), in({5})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], x[2]); }, kRed)
        .parity({{300, 5}, {5}, {5}});
    // only dbias: its kernels read neither x nor the statistics
    c.add("layer_norm_bias_grad_only", "layer_norm", {constant({3, 2, 4}), constant({4}), in({4})},
          [](const T& x) { return layer_norm(x[0], x[1].shape(), x[1], x[2]); }, kRed)
        .parity({{2, 300, 7}, {7}, {7}});
    // clang-format on
}

}  // namespace marrow::test::cases
