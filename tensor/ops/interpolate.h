// interpolate entry point (no autograd): torch.nn.functional.interpolate's argument rules and
// messages (PyTorch 1.13), the output size, and the kernel call. Inputs (N, C, L) for nearest
// and linear, (N, C, H, W) for nearest, bilinear and bicubic; float32 or float64. Kernels see
// (planes = N*C, H, W) contiguous (a 3-d input is planes of one row).
// Layers call the differentiable marrow::interpolate (autograd/ops.h).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "tensor/kernels.h"

namespace marrow {

// F.interpolate's keyword arguments. size and scale_factor: exactly one is given, as one value
// for every spatial dim or one per dim. align_corners: only for linear, bilinear and bicubic
// (default false). recompute_scale_factor (scale_factor only): true computes the output size
// floor(in * scale) and then maps coordinates with in / out, as if that size had been given;
// otherwise (PyTorch's default) the given scale itself maps coordinates (src = (dst + 0.5) /
// scale - 0.5), which DINOv2's interpolate_pos_encoding relies on. antialias is not supported.
struct InterpolateOptions {
    std::vector<int64_t> size{};
    std::vector<double> scale_factor{};
    InterpolateMode mode = InterpolateMode::nearest;
    std::optional<bool> align_corners{};
    std::optional<bool> recompute_scale_factor{};
    bool antialias = false;
};

const char* interpolate_mode_name(InterpolateMode mode);

}  // namespace marrow

namespace marrow::op {

// The kernel parameters for input shape `x`, checked as F.interpolate and PyTorch's
// upsample_*_check do (errors name the op, the mode and the shapes).
InterpolateParams interpolate_params(const Shape& x, const InterpolateOptions& options);

// out: x's shape with the spatial dims replaced by the output size.
Tensor interpolate(const Tensor& x, const InterpolateParams& p);
// dL/dx of shape `x_shape` from g = dL/dout (the adjoint of the same taps and weights).
Tensor interpolate_backward(const InterpolateParams& p, const Tensor& g, const Shape& x_shape);

}  // namespace marrow::op
