#include "nn/conv_layers.h"

#include <fmt/format.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/norm_layers.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn {
namespace {

std::string pair(const Size2& s) { return fmt::format("({}, {})", s.h, s.w); }
Dims dims(const Size2& s) { return {s.h, s.w}; }

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options, Generator* gen)
    : Layer("Conv2d"),
      weight(register_parameter(
          "weight", empty({out_channels, options.groups > 0 ? in_channels / options.groups : 0,
                           options.kernel_size.h, options.kernel_size.w}))),
      in_(in_channels),
      out_(out_channels),
      options_(options) {
    const Conv2dOptions& o = options_;
    MARROW_CHECK(o.groups > 0 && in_channels % o.groups == 0 && out_channels % o.groups == 0,
                 "Conv2d: in_channels {} and out_channels {} must be divisible by groups {}",
                 in_channels, out_channels, o.groups);
    MARROW_CHECK(o.kernel_size.h > 0 && o.kernel_size.w > 0 && o.stride.h > 0 && o.stride.w > 0 &&
                     o.dilation.h > 0 && o.dilation.w > 0 && o.padding.h >= 0 && o.padding.w >= 0,
                 "Conv2d: kernel_size {}, stride {} and dilation {} must be positive and "
                 "padding {} non-negative",
                 pair(o.kernel_size), pair(o.stride), pair(o.dilation), pair(o.padding));
    MARROW_CHECK(!o.same_padding || (o.stride.h == 1 && o.stride.w == 1),
                 "Conv2d: padding='same' is not supported for strided convolutions");
    if (o.bias) bias = register_parameter("bias", empty({out_channels}));
    reset_parameters(gen);
}

void Conv2d::reset_parameters(Generator* gen) {
    // PyTorch's _ConvNd.reset_parameters: kaiming_uniform_(a = sqrt(5)) = U(+-1/sqrt(fan_in)).
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, "leaky_relu", gen);
    if (bias) {
        int64_t fan_in = init::fan_in_and_fan_out(weight).first;
        double bound = fan_in > 0 ? 1 / std::sqrt(double(fan_in)) : 0;
        init::uniform_(*bias, -bound, bound, gen);
    }
}

Tensor Conv2d::forward(const Tensor& x) { return forward_with(x, weight, bias); }

Tensor Conv2d::forward_with(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b,
                            bool relu) const {
    const Conv2dOptions& o = options_;
    Conv2dParams params;
    params.stride = {o.stride.h, o.stride.w};
    params.padding = {o.padding.h, o.padding.w};
    params.dilation = {o.dilation.h, o.dilation.w};
    params.groups = o.groups;
    params.padding_same = o.same_padding;
    params.relu = relu;
    return conv2d(x, w, b, params);
}

Tensor conv_bn(const Conv2d& conv, BatchNorm& bn, const Tensor& x, bool relu) {
    if (bn.is_training() || !bn.running_mean || autograd::grad_enabled()) {
        Tensor y = bn.forward(conv.forward_with(x, conv.weight, conv.bias));
        return relu ? marrow::relu(y) : y;
    }
    // s, shift: (out); the weight scaled per output channel (out, in / groups, kH, kW).
    Tensor s = rsqrt(*bn.running_var + bn.eps());
    if (bn.weight) s = s * *bn.weight;
    Tensor shift = ((conv.bias ? *conv.bias : zeros_like(s)) - *bn.running_mean) * s;
    if (bn.bias) shift = shift + *bn.bias;
    Tensor w = conv.weight * reshape(s, {s.size(0), 1, 1, 1});
    return conv.forward_with(x, w, shift, relu);
}

std::string Conv2d::extra_repr() const {
    const Conv2dOptions& o = options_;
    std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_, out_, pair(o.kernel_size),
                                pair(o.stride));
    if (o.same_padding)
        s += ", padding=same";
    else if (o.padding != Size2(0))
        s += ", padding=" + pair(o.padding);
    if (o.dilation != Size2(1)) s += ", dilation=" + pair(o.dilation);
    if (o.groups != 1) s += fmt::format(", groups={}", o.groups);
    if (!o.bias) s += ", bias=False";
    return s;
}

MaxPool2d::MaxPool2d(MaxPool2dOptions options) : Layer("MaxPool2d"), options_(options) {}

Tensor MaxPool2d::forward(const Tensor& x) {
    const MaxPool2dOptions& o = options_;
    return max_pool2d(x, dims(o.kernel_size), o.stride ? dims(*o.stride) : Dims{}, dims(o.padding),
                      dims(o.dilation), o.ceil_mode);
}

// PyTorch prints pooling sizes given as one int as that int.
static std::string size_repr(const Size2& s) { return s.h == s.w ? std::to_string(s.h) : pair(s); }

std::string MaxPool2d::extra_repr() const {
    const MaxPool2dOptions& o = options_;
    return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
                       size_repr(o.kernel_size), size_repr(o.stride.value_or(o.kernel_size)),
                       size_repr(o.padding), size_repr(o.dilation), o.ceil_mode ? "True" : "False");
}

AvgPool2d::AvgPool2d(AvgPool2dOptions options) : Layer("AvgPool2d"), options_(options) {}

Tensor AvgPool2d::forward(const Tensor& x) {
    const AvgPool2dOptions& o = options_;
    return avg_pool2d(x, dims(o.kernel_size), o.stride ? dims(*o.stride) : Dims{}, dims(o.padding),
                      o.ceil_mode, o.count_include_pad, o.divisor_override);
}

std::string AvgPool2d::extra_repr() const {
    const AvgPool2dOptions& o = options_;
    return fmt::format("kernel_size={}, stride={}, padding={}", size_repr(o.kernel_size),
                       size_repr(o.stride.value_or(o.kernel_size)), size_repr(o.padding));
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size)
    : Layer("AdaptiveAvgPool2d"), output_size_(output_size) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
    return adaptive_avg_pool2d(x, dims(output_size_));
}

std::string AdaptiveAvgPool2d::extra_repr() const {
    auto size = [](int64_t v) { return v == kNone ? std::string("None") : std::to_string(v); };
    return fmt::format("output_size=({}, {})", size(output_size_.h), size(output_size_.w));
}

AdaptiveMaxPool2d::AdaptiveMaxPool2d(Size2 output_size)
    : Layer("AdaptiveMaxPool2d"), output_size_(output_size) {
    MARROW_CHECK(output_size.h > 0 && output_size.w > 0,
                 "AdaptiveMaxPool2d: output size must be positive, got ({}, {})", output_size.h,
                 output_size.w);
}

Tensor AdaptiveMaxPool2d::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() == 3 || x.dim() == 4,
                 "AdaptiveMaxPool2d: expected (N, C, H, W) or (C, H, W), got {}", x.shape());
    int64_t h = x.size(-2), w = x.size(-1), oh = output_size_.h, ow = output_size_.w;
    MARROW_CHECK(h % oh == 0 && w % ow == 0,
                 "AdaptiveMaxPool2d: input {} does not tile into ({}, {}) equal windows (only "
                 "sizes that divide the input are supported)",
                 x.shape(), oh, ow);
    return max_pool2d(x, {h / oh, w / ow});
}

std::string AdaptiveMaxPool2d::extra_repr() const {
    return fmt::format("output_size=({}, {})", output_size_.h, output_size_.w);
}

Dropout::Dropout(double p, Generator* gen) : Layer("Dropout"), p_(p), gen_(gen) {
    MARROW_CHECK(p >= 0 && p <= 1, "Dropout: probability must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) {
    return dropout(x, p_, is_training(), gen_ ? *gen_ : default_generator());
}

std::string Dropout::extra_repr() const { return fmt::format("p={}, inplace=False", p_); }

}  // namespace marrow::nn
