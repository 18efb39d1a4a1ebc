// interpolate (F.interpolate, antialias=False). Shapes cover each mode's PyTorch rules:
// nearest's 2x shortcut and its float index rounding, linear's copy when an axis keeps its
// size, align_corners true and false, up- and downsampling, non-square and per-dim scale
// factors that map coordinates with the given scale (recompute_scale_factor unset) or with
// in / out (recompute_scale_factor=true), 3-d (N, C, L) inputs, and DINOv2's position-embedding
// resize: a 16 x 16 grid to scale_factor (w0 + 0.1) / 16 (4 x 4 down, 37 x 37 up, 10 x 7).
// The DINOv2 cases run on a few channels (the geometry is per plane; 384 channels would make
// the float64 gradcheck slow). Parity tier: planes of 1000-5000 outputs over several
// 256-thread blocks, and inputs whose every element is read by many outputs (backward gather).
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

constexpr InterpolateMode kNearest = InterpolateMode::nearest;
constexpr InterpolateMode kLinear = InterpolateMode::linear;
constexpr InterpolateMode kBilinear = InterpolateMode::bilinear;
constexpr InterpolateMode kBicubic = InterpolateMode::bicubic;

OpFn sized(InterpolateMode mode, Dims size, std::optional<bool> align_corners = std::nullopt) {
    return [=](const T& x) {
        return interpolate(x[0], {.size = size, .mode = mode, .align_corners = align_corners});
    };
}

OpFn scaled(InterpolateMode mode, std::vector<double> scale,
            std::optional<bool> align_corners = std::nullopt,
            std::optional<bool> recompute = std::nullopt) {
    return [=](const T& x) {
        return interpolate(x[0], {.scale_factor = scale,
                                  .mode = mode,
                                  .align_corners = align_corners,
                                  .recompute_scale_factor = recompute});
    };
}

}  // namespace

void add_interpolate(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "interpolate");
    c.add("interpolate_nearest", "interpolate", {in({2, 3, 5, 7})},
          sized(kNearest, {9, 12}), kRed)
        .parity({{2, 3, 33, 35}});
    c.add("interpolate_nearest_x2", "interpolate", {in({1, 2, 4, 5}, kAny, kT)},
          scaled(kNearest, {2.0}), kRed)
        .parity({{2, 2, 31, 40}});
    c.add("interpolate_nearest_down", "interpolate", {in({2, 2, 9, 8})},
          scaled(kNearest, {0.45, 0.4}), kRed)
        .parity({{2, 3, 101, 97}});
    c.add("interpolate_nearest_1d", "interpolate", {in({2, 3, 7})},
          sized(kNearest, {11}), kRed)
        .parity({{3, 5, 401}});
    c.add("interpolate_linear_1d", "interpolate", {in({2, 3, 7})},
          scaled(kLinear, {1.7}), kRed)
        .parity({{3, 5, 401}});
    c.add("interpolate_linear_1d_align", "interpolate", {in({2, 3, 7}, kAny, kS)},
          sized(kLinear, {4}, true), kRed)
        .parity({{3, 5, 401}});
    c.add("interpolate_bilinear", "interpolate", {in({2, 3, 5, 6})},
          sized(kBilinear, {9, 11}), kRed)
        .parity({{2, 3, 33, 35}});
    c.add("interpolate_bilinear_x2", "interpolate", {in({2, 3, 5, 6})},
          scaled(kBilinear, {2.0}), kRed)
        .parity({{2, 3, 31, 37}})
        .bench_bwd("interpolate_bilinear_x2_8x64x56", {{8, 64, 56, 56}});
    c.add("interpolate_bilinear_align", "interpolate", {in({2, 3, 5, 6})},
          sized(kBilinear, {9, 11}, true), kRed)
        .parity({{2, 3, 33, 35}});
    c.add("interpolate_bilinear_down", "interpolate", {in({1, 2, 11, 9}, kAny, kT)},
          sized(kBilinear, {4, 5}), kRed)
        .parity({{2, 2, 97, 101}});
    c.add("interpolate_bilinear_down_align", "interpolate", {in({1, 2, 11, 9})},
          sized(kBilinear, {4, 1}, true), kRed)
        .parity({{2, 2, 97, 101}});
    // H keeps its size: PyTorch copies along that axis
    c.add("interpolate_bilinear_copy_axis", "interpolate", {in({1, 2, 5, 6})},
          sized(kBilinear, {5, 9}), kRed)
        .parity({{2, 2, 37, 41}});
    c.add("interpolate_bilinear_scale", "interpolate", {in({1, 2, 6, 7})},
          scaled(kBilinear, {1.6, 0.7}), kRed)
        .parity({{2, 2, 41, 37}});
    c.add("interpolate_bilinear_recompute", "interpolate", {in({1, 2, 6, 7})},
          scaled(kBilinear, {1.6, 0.7}, false, true), kRed)
        .parity({{2, 2, 41, 37}});
    c.add("interpolate_bicubic", "interpolate", {in({2, 3, 5, 6})},
          sized(kBicubic, {9, 13}), kRed)
        .parity({{2, 3, 33, 35}});
    c.add("interpolate_bicubic_align", "interpolate", {in({2, 3, 5, 6}, kAny, kS)},
          sized(kBicubic, {9, 13}, true), kRed)
        .parity({{2, 3, 33, 35}});
    c.add("interpolate_bicubic_down", "interpolate", {in({1, 2, 12, 10})},
          sized(kBicubic, {5, 4}), kRed)
        .parity({{2, 2, 97, 101}});
    c.add("interpolate_bicubic_down_align", "interpolate", {in({1, 2, 12, 10})},
          sized(kBicubic, {5, 4}, true), kRed)
        .parity({{2, 2, 97, 101}});
    // scale 1.1 keeps the size (floor(6.6) = 6) but still maps with 1 / 1.1: no copy. Forward
    // only: PyTorch 1.13's bicubic backward copies g when both sizes match (a shortcut its
    // forward does not take), which is not the gradient of its forward; ours is (gradcheck in
    // tests/ops/test_interpolate.cpp).
    c.add("interpolate_bicubic_same_size", "interpolate", {in({1, 2, 6, 6})},
          scaled(kBicubic, {1.1}), kRed, false)
        .parity({{1, 2, 33, 33}});
    // DINOv2's interpolate_pos_encoding: scale_factor (w0 + 0.1) / sqrt(N), bicubic
    c.add("interpolate_bicubic_dinov2_down", "interpolate", {in({1, 4, 16, 16})},
          scaled(kBicubic, {4.1 / 16, 4.1 / 16}), kRed)
        .parity({{1, 384, 16, 16}});
    c.add("interpolate_bicubic_dinov2_up", "interpolate", {in({1, 1, 16, 16})},
          scaled(kBicubic, {37.1 / 16, 37.1 / 16}), kRed)
        .parity({{1, 8, 16, 16}})
        .bench_bwd("interpolate_bicubic_posembed_16to37_384", {{1, 384, 16, 16}});
    c.add("interpolate_bicubic_dinov2_nonsquare", "interpolate", {in({1, 3, 16, 16})},
          scaled(kBicubic, {10.1 / 16, 7.1 / 16}), kRed)
        .parity({{1, 16, 16, 16}});
    c.add("interpolate_bicubic_dinov2_align", "interpolate", {in({1, 3, 16, 16})},
          scaled(kBicubic, {10.1 / 16, 7.1 / 16}, true), kRed)
        .parity({{1, 16, 16, 16}});
    c.add("interpolate_bilinear_dinov2", "interpolate", {in({1, 3, 16, 16})},
          scaled(kBilinear, {37.1 / 16, 10.1 / 16}), kRed)
        .parity({{1, 8, 16, 16}});
    // a 518-px DINOv2 grid (37 x 37) to a 224-px one (16 x 16)
    c.add("interpolate_bicubic_posembed_37to16", "interpolate", {in({1, 1, 37, 37})},
          scaled(kBicubic, {16.1 / 37, 16.1 / 37}), kRed)
        .parity({{1, 16, 37, 37}})
        .bench_bwd("interpolate_bicubic_posembed_37to16_768", {{1, 768, 37, 37}});
    // clang-format on
}

}  // namespace marrow::test::cases
