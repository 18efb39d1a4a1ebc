// 2-d convolution (no autograd): torch.nn.functional.conv2d's semantics, and the two raw
// gradients its backward calls. Layers call the differentiable marrow::conv2d instead
// (Note [Raw entry points], tensor.h).
#pragma once
#include <array>
#include <optional>

#include "tensor/kernels.h"
#include "tensor/tensor.h"

namespace marrow {

// F.conv2d's arguments. `padding_same` is PyTorch's padding="same": the output keeps the
// input's size (stride 1 only); a total padding dilation * (k - 1) that is odd puts the extra
// row / column at the bottom / right, as PyTorch does. padding="valid" is padding {0, 0}.
struct Conv2dParams {
    std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
    int64_t groups = 1;
    bool padding_same = false;
    // y = max(0, conv(x) + bias) in the convolution's own output pass: inference's fused
    // conv + ReLU (no backward: autograd rejects it when a gradient is recorded).
    bool relu = false;
};

namespace op {

// x: (N, C, H, W) or unbatched (C, H, W); weight: (O, C / groups, kH, kW); bias: (O,).
// Returns (N, O, Ho, Wo) (or (O, Ho, Wo)), Ho = (H + pad_top + pad_bottom - dil (kH - 1) - 1)
// / stride + 1, in x's dtype (float32 or float64).
Tensor conv2d(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias = {},
              const Conv2dParams& params = {});
// dL/dx of y = conv2d(x, weight) from gy = dL/dy; x_shape: x's shape (3-d or 4-d).
Tensor conv2d_backward_input(const Tensor& gy, const Tensor& weight, const Shape& x_shape,
                             const Conv2dParams& params);
// dL/dweight of y = conv2d(x, weight) from gy = dL/dy; weight_shape: (O, C / groups, kH, kW).
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& gy, const Shape& weight_shape,
                              const Conv2dParams& params);

// The checks of conv2d (PyTorch's messages, naming the shapes) and the resolved geometry for
// a 4-d x_shape (an unbatched shape gets n = 1). Used by the entry points above.
Conv2dGeometry conv2d_geometry(const Shape& x_shape, const Shape& weight_shape,
                               const Conv2dParams& params);

}  // namespace op
}  // namespace marrow
