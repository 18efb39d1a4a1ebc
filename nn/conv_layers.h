// Convolution, pooling and dropout layers with torch.nn's arguments, parameter names and
// default initialization. Sizes take one number or a pair (Size2), as PyTorch's int-or-tuple:
//
//   Conv2d conv(3, 64, {.kernel_size = 7, .stride = 2, .padding = 3, .bias = false});
//   Conv2d same(64, 64, {.kernel_size = {3, 5}, .same_padding = true});
//   MaxPool2d pool({.kernel_size = 3, .stride = 2, .padding = 1});
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "autograd/ops.h"  // kNone
#include "nn/module.h"
#include "tensor/random.h"

namespace marrow::nn {

// A (height, width) pair that converts from one number, as PyTorch's int-or-tuple arguments.
struct Size2 {
    int64_t h = 0, w = 0;
    Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose (kernel_size=3)
    Size2(int64_t height, int64_t width) : h(height), w(width) {}
    bool operator==(const Size2&) const = default;
};

struct Conv2dOptions {
    Size2 kernel_size = 1;
    Size2 stride = 1;
    Size2 padding = 0;
    bool same_padding = false;  // PyTorch's padding="same" (stride 1): output size = input size
    Size2 dilation = 1;
    int64_t groups = 1;  // in and out channels both divisible; groups = in: depthwise
    bool bias = true;
};

// weight (out, in / groups, kH, kW), bias (out); both start as PyTorch's default:
// kaiming_uniform_(a = sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
// (N, in, H, W) or (in, H, W) -> (N, out, H', W').
class Conv2d : public Layer {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options,
           Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    // The convolution with other weights (and bias) of the same shapes; `relu`: max(0, y) fused
    // into the convolution (inference only, Conv2dParams::relu).
    Tensor forward_with(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias,
                        bool relu = false) const;
    void reset_parameters(Generator* gen = nullptr);
    const Conv2dOptions& options() const { return options_; }
    Tensor weight;
    std::optional<Tensor> bias;

protected:
    std::string extra_repr() const override;

private:
    int64_t in_, out_;
    Conv2dOptions options_;
};

class BatchNorm;
// bn.forward(conv.forward(x)) (then relu() when `relu`), with the norm folded into the
// convolution when it normalizes with running statistics (eval mode) and no gradient is
// recorded, as torch.jit.freeze does: per output channel s = gamma / sqrt(running_var + eps),
// weight' = weight * s, bias' = (bias - running_mean) * s + beta, and the ReLU fused into the
// convolution's output pass. The same numbers up to float rounding, two passes over the
// activations fewer.
Tensor conv_bn(const Conv2d& conv, BatchNorm& bn, const Tensor& x, bool relu = false);

struct MaxPool2dOptions {
    Size2 kernel_size = 1;
    std::optional<Size2> stride = std::nullopt;  // default: kernel_size
    Size2 padding = 0;
    Size2 dilation = 1;
    bool ceil_mode = false;
};

class MaxPool2d : public Layer {
public:
    explicit MaxPool2d(MaxPool2dOptions options);
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    MaxPool2dOptions options_;
};

struct AvgPool2dOptions {
    Size2 kernel_size = 1;
    std::optional<Size2> stride = std::nullopt;  // default: kernel_size
    Size2 padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
    std::optional<int64_t> divisor_override = std::nullopt;
};

class AvgPool2d : public Layer {
public:
    explicit AvgPool2d(AvgPool2dOptions options);
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    AvgPool2dOptions options_;
};

// Averages windows that tile the input into `output_size` cells (1: global average pooling).
// output_size: (H, W), or one int for both; kNone keeps the input's size in that dim.
class AdaptiveAvgPool2d : public Layer {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size);
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    Size2 output_size_;
};

// The maximum of windows that tile the input into `output_size` cells (1: global max pooling,
// SCEMILA's feature processor). Only tilings with equal windows (H and W divisible by the
// output size), where PyTorch's adaptive windows are max_pool2d's with kernel = stride =
// H / OH; other sizes are an Error naming both shapes.
class AdaptiveMaxPool2d : public Layer {
public:
    explicit AdaptiveMaxPool2d(Size2 output_size);
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    Size2 output_size_;
};

// Zeroes each element with probability p in training (scaling the rest by 1 / (1 - p));
// the identity in eval mode. Masks come from `gen` (default: the default generator).
class Dropout : public Layer {
public:
    explicit Dropout(double p = 0.5, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    double p_;
    Generator* gen_;
};

}  // namespace marrow::nn
