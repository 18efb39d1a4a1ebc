// conv2d entry points: PyTorch's argument checks (at::native::check_shape_forward and
// conv2d's padding="same" rule), the geometry the kernels get, and the unbatched (C, H, W)
// form, which runs as a batch of one.
#include "tensor/ops/conv.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {

Conv2dGeometry conv2d_geometry(const Shape& x_shape, const Shape& w_shape, const Conv2dParams& p) {
    MARROW_CHECK(x_shape.size() == 3 || x_shape.size() == 4,
                 "conv2d: expected 3D (unbatched) or 4D (batched) input, but got input of "
                 "size {}",
                 x_shape);
    MARROW_CHECK(w_shape.size() == 4,
                 "conv2d: expected a 4-dimensional weight (out_channels, in_channels / groups, "
                 "kH, kW), but got weight of size {} (input of size {})",
                 w_shape, x_shape);
    MARROW_CHECK(p.groups > 0, "conv2d: non-positive groups is not supported (groups = {})",
                 p.groups);
    for (int i = 0; i < 2; ++i) {
        MARROW_CHECK(p.stride[i] > 0, "conv2d: non-positive stride is not supported (stride {})",
                     p.stride);
        MARROW_CHECK(p.dilation[i] > 0,
                     "conv2d: dilation should be greater than zero (dilation {})", p.dilation);
        MARROW_CHECK(p.padding_same || p.padding[i] >= 0,
                     "conv2d: negative padding is not supported (padding {})", p.padding);
    }
    MARROW_CHECK(!p.padding_same || (p.stride[0] == 1 && p.stride[1] == 1),
                 "conv2d: padding='same' is not supported for strided convolutions (stride {})",
                 p.stride);
    bool batched = x_shape.size() == 4;
    int64_t n = batched ? x_shape[0] : 1, c = x_shape[batched ? 1 : 0];
    int64_t h = x_shape[batched ? 2 : 1], w = x_shape[batched ? 3 : 2];
    int64_t o = w_shape[0];
    MARROW_CHECK(o >= p.groups && o % p.groups == 0,
                 "conv2d: given groups={}, expected weight to be divisible by {} at dimension 0, "
                 "but got weight of size {} instead",
                 p.groups, p.groups, w_shape);
    MARROW_CHECK(c == w_shape[1] * p.groups,
                 "conv2d: given groups={}, weight of size {}, expected input{} to have {} "
                 "channels, but got {} channels instead",
                 p.groups, w_shape, x_shape, w_shape[1] * p.groups, c);
    Conv2dGeometry g{};
    g.n = n, g.c = c, g.h = h, g.w = w, g.o = o, g.kh = w_shape[2], g.kw = w_shape[3];
    g.stride_h = p.stride[0], g.stride_w = p.stride[1];
    g.dil_h = p.dilation[0], g.dil_w = p.dilation[1], g.groups = p.groups;
    g.relu = p.relu;
    // Padding per side: PyTorch's "same" pads total = dil (k - 1), total / 2 at the top/left
    // and the rest (one more when odd) at the bottom/right.
    int64_t total_h = p.padding_same ? g.dil_h * (g.kh - 1) : 2 * p.padding[0];
    int64_t total_w = p.padding_same ? g.dil_w * (g.kw - 1) : 2 * p.padding[1];
    g.pad_h = p.padding_same ? total_h / 2 : p.padding[0];
    g.pad_w = p.padding_same ? total_w / 2 : p.padding[1];
    int64_t span_h = g.dil_h * (g.kh - 1) + 1, span_w = g.dil_w * (g.kw - 1) + 1;
    MARROW_CHECK(g.kh > 0 && g.kw > 0 && h + total_h >= span_h && w + total_w >= span_w,
                 "conv2d: calculated padded input size per channel: ({} x {}). Kernel size: "
                 "({} x {}). Kernel size can't be greater than actual input size (input {}, "
                 "weight {})",
                 h + total_h, w + total_w, span_h, span_w, x_shape, w_shape);
    g.ho = (h + total_h - span_h) / g.stride_h + 1;
    g.wo = (w + total_w - span_w) / g.stride_w + 1;
    return g;
}

namespace {

Shape output_shape(const Conv2dGeometry& g, bool batched) {
    return batched ? Shape{g.n, g.o, g.ho, g.wo} : Shape{g.o, g.ho, g.wo};
}

// A contiguous 4-d view of a (possibly unbatched) operand.
Tensor as_batch(const Tensor& t) { return contiguous(t.dim() == 3 ? unsqueeze(t, 0) : t); }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias,
              const Conv2dParams& params) {
    check_same_device("conv2d", x, weight);
    check_same_dtype("conv2d", x, weight);
    Conv2dGeometry g = conv2d_geometry(x.shape(), weight.shape(), params);
    if (bias) {
        check_same_device("conv2d", x, *bias);
        check_same_dtype("conv2d", x, *bias);
        MARROW_CHECK(bias->dim() == 1 && bias->size(0) == g.o,
                     "conv2d: given weight of size {}, expected bias to be 1-dimensional with {} "
                     "elements, but got bias of size {} instead",
                     weight.shape(), g.o, bias->shape());
    }
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "conv2d: dtype {} is not supported (float32 and float64; input {})", x.dtype(),
                 x.shape());
    Tensor y = empty(output_shape(g, x.dim() == 4), x.dtype(), x.device());
    if (y.numel() == 0) return y;
    std::optional<Tensor> b;
    if (bias) b = contiguous(*bias);
    kernel<OpId::conv2d>(x.device(), "conv2d")(g, as_batch(x), contiguous(weight),
                                               b ? &*b : nullptr, as_batch(y));
    return y;
}

Tensor conv2d_backward_input(const Tensor& gy, const Tensor& weight, const Shape& x_shape,
                             const Conv2dParams& params) {
    check_same_device("conv2d_backward_input", gy, weight);
    check_same_dtype("conv2d_backward_input", gy, weight);
    Conv2dGeometry g = conv2d_geometry(x_shape, weight.shape(), params);
    Shape expected = output_shape(g, x_shape.size() == 4);
    MARROW_CHECK(gy.shape() == expected,
                 "conv2d_backward_input: gradient of shape {} for an output of shape {} (input "
                 "{}, weight {})",
                 gy.shape(), expected, x_shape, weight.shape());
    Tensor gx = empty(x_shape, gy.dtype(), gy.device());
    if (gx.numel() == 0) return gx;
    if (gy.numel() == 0) {
        fill_(gx, 0);
        return gx;
    }
    kernel<OpId::conv2d_backward_input>(gy.device(), "conv2d")(g, as_batch(gy), contiguous(weight),
                                                               as_batch(gx));
    return gx;
}

Tensor conv2d_backward_weight(const Tensor& x, const Tensor& gy, const Shape& weight_shape,
                              const Conv2dParams& params) {
    check_same_device("conv2d_backward_weight", x, gy);
    check_same_dtype("conv2d_backward_weight", x, gy);
    Conv2dGeometry g = conv2d_geometry(x.shape(), weight_shape, params);
    Shape expected = output_shape(g, x.dim() == 4);
    MARROW_CHECK(gy.shape() == expected,
                 "conv2d_backward_weight: gradient of shape {} for an output of shape {} (input "
                 "{}, weight {})",
                 gy.shape(), expected, x.shape(), weight_shape);
    Tensor gw = empty(weight_shape, x.dtype(), x.device());
    if (gw.numel() == 0) return gw;
    if (x.numel() == 0) {  // an empty batch: no products
        fill_(gw, 0);
        return gw;
    }
    kernel<OpId::conv2d_backward_weight>(x.device(), "conv2d")(g, as_batch(x), as_batch(gy), gw);
    return gw;
}

}  // namespace marrow::op
