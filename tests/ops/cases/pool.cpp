// Pooling, dropout and normalize. Shapes cover PyTorch's edge rules: ceil_mode windows clipped
// at the padded border, dilation, padding up to half the kernel, count_include_pad and
// divisor_override, adaptive windows that overlap (7 -> 3) and that repeat input elements
// (upsampling 4 -> 6), unbatched (C, H, W) inputs. Parity tier: planes of ~1000-2000 outputs,
// several 256-thread blocks of the one-thread-per-element CUDA kernels.
//
// Dropout cannot match PyTorch's random stream, so its golden case checks the rule instead:
// with y = dropout(x, p) and x away from 0 (so y == 0 exactly where dropped),
//   y (1 - p) + where(y == 0, x, 0) = x    and its gradient is 1 everywhere,
// whichever mask is drawn, in PyTorch and here: it holds only if kept elements are scaled by
// 1 / (1 - p) and backward multiplies by the same mask and scale. The generator is re-seeded
// per call, so gradcheck and CPU-vs-CUDA parity see one fixed mask. drop_path's golden checks
// the same rule (its PyTorch twin is timm's drop_path) and the scaling with a fed keep mask.
#include <limits>

#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

Tensor dropout_rule(const Tensor& x, double p) {
    Generator gen(11);
    Tensor y = dropout(x, p, true, gen);
    return y * (1 - p) + where(eq(y, 0.0), x, x * 0.0);
}

// drop_path's rule, the same as dropout's with one decision per sample.
Tensor drop_path_rule(const Tensor& x, double p) {
    Generator gen(11);
    Tensor y = drop_path(x, p, true, gen);
    return y * (1 - p) + where(eq(y, 0.0), x, x * 0.0);
}

// F.normalize as PyTorch writes it: x / norm(x).clamp_min(eps).
Tensor normalize_composed(const Tensor& x, double p, int64_t dim, double eps) {
    return x / clamp(norm(x, p, {dim}, true), eps, std::numeric_limits<double>::infinity());
}

}  // namespace

void add_pool(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "pool");
    // the ResNet stem's pooling: 3x3, stride 2, padding 1
    c.add("max_pool2d", "max_pool2d", {in({2, 3, 7, 6})},
          [](const T& x) { return max_pool2d(x[0], {3}, {2}, {1}); }, kExact)
        .parity({{2, 3, 37, 35}})
        .bench_bwd("max_pool2d_resnet_stem", {{32, 64, 72, 72}});
    c.add("max_pool2d_ceil", "max_pool2d", {in({1, 2, 7, 8}, kAny, kS)},
          [](const T& x) { return max_pool2d(x[0], {3, 2}, {2, 3}, {1, 1}, {1}, true); }, kExact)
        .parity({{2, 2, 40, 47}});
    c.add("max_pool2d_dilated", "max_pool2d", {in({3, 9, 8}, kAny, kT)},
          [](const T& x) { return max_pool2d(x[0], {3}, {1, 2}, {1, 0}, {2, 1}, true); }, kExact)
        .parity({{4, 31, 29}});
    c.add("max_pool2d_indices", "max_pool2d", {in({2, 2, 5, 7})},
          [](const T& x) { return max_pool2d_with_indices(x[0], {2}, {}, {1}, {1}, true).second; },
          kExact, false)
        .parity({{2, 3, 33, 31}});
    c.add("avg_pool2d", "avg_pool2d", {in({2, 3, 7, 6})},
          [](const T& x) { return avg_pool2d(x[0], {3}, {2}, {1}); }, kEw)
        .parity({{2, 3, 37, 35}});
    c.add("avg_pool2d_ceil_exclude", "avg_pool2d", {in({1, 2, 7, 8}, kAny, kT)},
          [](const T& x) { return avg_pool2d(x[0], {3, 2}, {2, 1}, {1, 1}, true, false); }, kEw)
        .parity({{2, 2, 40, 47}});
    c.add("avg_pool2d_divisor", "avg_pool2d", {in({3, 7, 7})},
          [](const T& x) { return avg_pool2d(x[0], {2}, {2}, {1}, true, true, 3); }, kEw)
        .parity({{4, 31, 29}});
    c.add("adaptive_avg_pool2d", "adaptive_avg_pool2d", {in({2, 3, 7, 9})},
          [](const T& x) { return adaptive_avg_pool2d(x[0], {3, 4}); }, kRed)
        .parity({{2, 3, 37, 35}});
    // the ResNet head: global average pooling
    c.add("adaptive_avg_pool2d_1x1", "adaptive_avg_pool2d", {in({2, 3, 5, 5}, kAny, kS)},
          [](const T& x) { return adaptive_avg_pool2d(x[0], {1}); }, kRed)
        .parity({{4, 300, 5, 5}})
        .bench_bwd("adaptive_avg_pool2d_resnet_head", {{32, 512, 5, 5}});
    c.add("adaptive_avg_pool2d_none", "adaptive_avg_pool2d", {in({2, 3, 7, 9})},
          [](const T& x) { return adaptive_avg_pool2d(x[0], {kNone, 4}); }, kRed)
        .parity({{2, 3, 11, 10}});
    c.add("adaptive_avg_pool2d_up", "adaptive_avg_pool2d", {in({3, 4, 5})},
          [](const T& x) { return adaptive_avg_pool2d(x[0], {6, 7}); }, kRed)
        .parity({{5, 17, 23}});
    c.add("dropout", "dropout", {in({4, 6}, kNZ)},
          [](const T& x) { return dropout_rule(x[0], 0.3); }, kEw)
        .parity({{7, 587}});
    c.add("dropout_eval", "dropout", {in({3, 4})},
          [](const T& x) { return dropout(x[0], 0.5, false); }, kExact);
    c.add("dropout_p1", "dropout", {in({3, 4})},
          [](const T& x) { return dropout(x[0], 1.0); }, kExact);
    // drop_path (stochastic depth): the rule, and the scaling with a given keep mask
    c.add("drop_path", "drop_path", {in({6, 3, 4}, kNZ)},
          [](const T& x) { return drop_path_rule(x[0], 0.4); }, kEw)
        .parity({{64, 5, 33}});
    c.add("drop_path_masked", "drop_path", {in({5, 3, 4}), constant({5, 1, 1})},
          [](const T& x) { return drop_path_masked(x[0], gt(x[1], 0.0), 0.25); }, kEw)
        .parity({{7, 17, 33}, {7, 1, 1}});
    c.add("drop_path_eval", "drop_path", {in({3, 4})},
          [](const T& x) { return drop_path(x[0], 0.5, false); }, kExact);
    c.add("drop_path_p1", "drop_path", {in({3, 4})},
          [](const T& x) { return drop_path(x[0], 1.0); }, kExact);
    // normalize is fused; its composed twin is PyTorch's own definition
    c.add("normalize", "normalize", {in({4, 5})},
          [](const T& x) { return normalize(x[0]); }, kRed)
        .parity({{7, 1031}})
        .bench_bwd("normalize_4096x256", {{4096, 256}})
        .composed([](const T& x) { return normalize_composed(x[0], 2, 1, 1e-12); });
    c.add("normalize_p3_dim0", "normalize", {in({3, 4, 2}, kAny, kT)},
          [](const T& x) { return normalize(x[0], 3, 0, 1e-6); }, kTr)
        .parity({{1031, 3, 5}})
        .composed([](const T& x) { return normalize_composed(x[0], 3, 0, 1e-6); });
    c.add("normalize_p1_last", "normalize", {in({2, 3, 4}, kNZ, kS)},
          [](const T& x) { return normalize(x[0], 1, -1, 1e-6); }, kRed)
        .parity({{3, 5, 1031}});
    // clang-format on
}

}  // namespace marrow::test::cases
