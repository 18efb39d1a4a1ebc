// conv2d. Small tier: every argument (stride, padding incl. "same" with its asymmetric extra
// row, dilation, groups incl. depthwise, bias or none, unbatched input, non-square kernels),
// over both CPU paths: groups with >= 8 output channels run the implicit GEMM, fewer the
// direct loops (tensor/cpu/conv.cpp). Parity tier: products across the CUDA kernels' 64-wide
// tiles and 16-deep K steps (Og = 70, 2 x 81 pixels) and the CPU's 12 x 32 micro-tiles.
// Bench tier: the conv layers of ResNet-18 at batch 32 on 144 x 144 images (issue 12).
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

Conv2dParams conv(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                  std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1) {
    return {stride, padding, dilation, groups, false};
}

OpFn conv_fn(Conv2dParams p, bool bias) {
    if (bias) return [p](const T& x) { return conv2d(x[0], x[1], x[2], p); };
    return [p](const T& x) { return conv2d(x[0], x[1], std::nullopt, p); };
}

}  // namespace

void add_conv(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "conv");
    c.add("conv2d", "conv2d", {in({2, 3, 7, 6}), in({4, 3, 3, 3}), in({4})},
          conv_fn(conv({1, 1}, {1, 1}), true), kMm);
    c.add("conv2d_gemm_stride2", "conv2d", {in({2, 3, 6, 7}), in({8, 3, 3, 3})},
          conv_fn(conv({2, 2}, {1, 1}), false), kMm)
        .parity({{2, 5, 17, 17}, {70, 5, 3, 3}});
    c.add("conv2d_dilated", "conv2d", {in({1, 2, 8, 8}, kAny, kT), in({8, 2, 3, 3}), in({8})},
          conv_fn(conv({1, 1}, {2, 1}, {2, 2}), true), kMm)
        .parity({{2, 5, 11, 9}, {70, 5, 3, 3}, {70}});
    c.add("conv2d_groups", "conv2d", {in({2, 4, 5, 5}), in({16, 2, 3, 3}), in({16})},
          conv_fn(conv({1, 1}, {1, 1}, {1, 1}, 2), true), kMm)
        .parity({{2, 10, 9, 9}, {140, 5, 3, 3}, {140}});
    c.add("conv2d_depthwise", "conv2d", {in({2, 4, 6, 6}), in({4, 1, 3, 3}), in({4})},
          conv_fn(conv({1, 2}, {1, 1}, {1, 1}, 4), true), kMm)
        .parity({{2, 4, 11, 11}, {4, 1, 3, 3}, {4}});
    c.add("conv2d_grouped_direct", "conv2d", {in({1, 6, 5, 6}), in({6, 2, 2, 3})},
          conv_fn(conv({2, 1}, {0, 1}, {1, 1}, 3), false), kMm);
    c.add("conv2d_unbatched", "conv2d", {in({3, 6, 6}), in({8, 3, 2, 2}), in({8})},
          conv_fn(conv({1, 1}, {0, 0}), true), kMm)
        .parity({{5, 9, 9}, {70, 5, 2, 2}, {70}});
    c.add("conv2d_same", "conv2d", {in({1, 2, 6, 7}), in({8, 2, 4, 3})},
          conv_fn({{1, 1}, {0, 0}, {1, 2}, 1, true}, false), kMm)
        .parity({{2, 5, 9, 9}, {70, 5, 4, 3}});
    c.add("conv2d_same_direct", "conv2d", {in({2, 2, 5, 4}), in({2, 1, 2, 2})},
          conv_fn({{1, 1}, {0, 0}, {1, 1}, 2, true}, false), kMm);
    c.add("conv2d_nonsquare", "conv2d", {in({2, 3, 7, 9}), in({8, 3, 1, 5})},
          conv_fn(conv({2, 1}, {0, 2}), false), kMm);
    c.add("conv2d_1x1", "conv2d", {in({2, 8, 4, 5}), in({8, 8, 1, 1}), in({8})},
          conv_fn(conv({1, 1}, {0, 0}), true), kMm)
        .parity({{2, 40, 9, 9}, {70, 40, 1, 1}, {70}});
    // ResNet-18's layers (torchvision: no bias before batch norm): the stem, the 3x3 convs of
    // the four stages (stride 1 and the stride-2 first conv of stages 2-4), the 1x1 stride-2
    // downsample convs.
    c.add("conv2d_r18_stem", "conv2d", {in({2, 3, 9, 9}), in({8, 3, 7, 7})},
          conv_fn(conv({2, 2}, {3, 3}), false), kMm)
        .bench_bwd("conv_r18_stem_7x7s2_3x64_144", {{32, 3, 144, 144}, {64, 3, 7, 7}});
    c.add("conv2d_r18_3x3", "conv2d", {in({2, 8, 5, 5}), in({8, 8, 3, 3})},
          conv_fn(conv({1, 1}, {1, 1}), false), kMm)
        .bench_bwd("conv_r18_3x3_64_36", {{32, 64, 36, 36}, {64, 64, 3, 3}})
        .bench_bwd("conv_r18_3x3_128_18", {{32, 128, 18, 18}, {128, 128, 3, 3}})
        .bench_bwd("conv_r18_3x3_256_9", {{32, 256, 9, 9}, {256, 256, 3, 3}})
        .bench_bwd("conv_r18_3x3_512_5", {{32, 512, 5, 5}, {512, 512, 3, 3}});
    c.add("conv2d_r18_3x3s2", "conv2d", {in({2, 4, 6, 6}), in({8, 4, 3, 3})},
          conv_fn(conv({2, 2}, {1, 1}), false), kMm)
        .bench_bwd("conv_r18_3x3s2_64x128_36", {{32, 64, 36, 36}, {128, 64, 3, 3}})
        .bench_bwd("conv_r18_3x3s2_128x256_18", {{32, 128, 18, 18}, {256, 128, 3, 3}})
        .bench_bwd("conv_r18_3x3s2_256x512_9", {{32, 256, 9, 9}, {512, 256, 3, 3}});
    c.add("conv2d_r18_1x1s2", "conv2d", {in({2, 8, 5, 5}), in({8, 8, 1, 1})},
          conv_fn(conv({2, 2}, {0, 0}), false), kMm)
        .bench_bwd("conv_r18_1x1s2_64x128_36", {{32, 64, 36, 36}, {128, 64, 1, 1}})
        .bench_bwd("conv_r18_1x1s2_128x256_18", {{32, 128, 18, 18}, {256, 128, 1, 1}})
        .bench_bwd("conv_r18_1x1s2_256x512_9", {{32, 256, 9, 9}, {512, 256, 1, 1}});
    // ResNet-50's 1x1 convs at batch 16 (bottleneck reduce and expand, stages 1, 3, 4).
    c.add("conv2d_r50_1x1", "conv2d", {in({2, 16, 4, 5}), in({8, 16, 1, 1})},
          conv_fn(conv({1, 1}, {0, 0}), false), kMm)
        .bench_bwd("conv_r50_1x1_256x64_36", {{16, 256, 36, 36}, {64, 256, 1, 1}})
        .bench_bwd("conv_r50_1x1_64x256_36", {{16, 64, 36, 36}, {256, 64, 1, 1}})
        .bench_bwd("conv_r50_1x1_1024x256_9", {{16, 1024, 9, 9}, {256, 1024, 1, 1}})
        .bench_bwd("conv_r50_1x1_512x2048_5", {{16, 512, 5, 5}, {2048, 512, 1, 1}});
    // clang-format on
}

}  // namespace marrow::test::cases
