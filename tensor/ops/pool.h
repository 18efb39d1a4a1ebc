// Pooling and dropout entry points (no autograd): argument checks with PyTorch's rules and
// messages, output shapes, and the kernel call. Inputs are (N, C, H, W) or unbatched
// (C, H, W), float32 or float64; kernels see (planes = N*C, H, W) contiguous.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include <climits>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "tensor/kernels.h"

namespace marrow {
// PyTorch's None in an adaptive pooling output size: that dim keeps the input's size
// (adaptive_avg_pool2d(x, {kNone, 7}) is F.adaptive_avg_pool2d(x, (None, 7))).
inline constexpr int64_t kNone = INT64_MIN;  // not -1: PyTorch rejects -1
}  // namespace marrow

namespace marrow::op {

// Window sizes as PyTorch takes them: one int for both dims, or (H, W).
using Size2 = std::vector<int64_t>;

// Parameters of F.max_pool2d on input shape `x` (stride empty = kernel), checked as PyTorch
// checks them (positive kernel, stride, dilation; padding at most half the kernel; an output
// of at least 1x1). Output size per dim: floor or ceil of (H + 2p - d (k - 1) - 1) / s, + 1;
// with ceil_mode the last window must start inside the input or its left padding.
Pool2dParams max_pool2d_params(const Shape& x, const Size2& kernel, const Size2& stride,
                               const Size2& padding, const Size2& dilation, bool ceil_mode);
Pool2dParams avg_pool2d_params(const Shape& x, const Size2& kernel, const Size2& stride,
                               const Size2& padding, bool ceil_mode, bool count_include_pad,
                               std::optional<int64_t> divisor_override);
Pool2dParams adaptive_avg_pool2d_params(const Shape& x, const Size2& output_size);

// out: x's shape with (H, W) replaced by (OH, OW); indices (max only): int64 flat positions
// ih * W + iw within each plane, as PyTorch's max_pool2d_with_indices.
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);  // avg and adaptive_avg
// dL/dx of shape `x_shape` from g = dL/dout; `indices` for max pooling.
Tensor pool2d_backward(const Pool2dParams& p, const Tensor& g, const std::optional<Tensor>& indices,
                       const Shape& x_shape);

// x * mask / (1 - p), mask from Philox draw (seed, offset) (tensor/math/pool_math.h); 0 < p < 1.
// Applied to g with the same (seed, offset), it is dropout's backward.
Tensor dropout_mask_apply(const Tensor& x, double p, uint64_t seed, uint64_t offset);

// F.normalize: x / max(||x||_p along dim, eps), p > 0 finite; and its backward from x and
// g = dL/dy (formula in tensor/cpu/pool.cpp).
Tensor normalize(const Tensor& x, double p, int64_t dim, double eps);
Tensor normalize_backward(const Tensor& x, const Tensor& g, double p, int64_t dim, double eps);

}  // namespace marrow::op
