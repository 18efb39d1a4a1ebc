#include "nn/norm_layers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn {

BatchNorm::BatchNorm(std::string type, int64_t num_features, BatchNormOptions options,
                     std::vector<int64_t> dims)
    : Layer(std::move(type)), num_features_(num_features), options_(options),
      dims_(std::move(dims)) {
    MARROW_CHECK(num_features > 0, "{}: num_features must be positive, got {}", type_name(),
                 num_features);
    if (options.affine) {
        weight = register_parameter("weight", ones({num_features}));
        bias = register_parameter("bias", zeros({num_features}));
    }
    if (options.track_running_stats) {
        running_mean = register_buffer("running_mean", zeros({num_features}));
        running_var = register_buffer("running_var", ones({num_features}));
        num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
    }
}

Tensor BatchNorm::forward(const Tensor& x) {
    MARROW_CHECK(std::find(dims_.begin(), dims_.end(), x.dim()) != dims_.end(),
                 "{}: expected {}-d input, got shape {}", type_name(), fmt::join(dims_, " or "),
                 x.shape());
    MARROW_CHECK(x.size(1) == num_features_,
                 "{}({}): input of shape {} has {} channels", type_name(), num_features_,
                 x.shape(), x.size(1));
    double factor = 0;
    if (is_training() && num_batches_tracked) {
        // The step count moves on the device; only momentum=None needs its value here.
        {
            autograd::NoGradGuard no_grad;
            add_(*num_batches_tracked, ones({}, DType::i64, num_batches_tracked->device()));
        }
        factor = options_.momentum
                     ? *options_.momentum
                     : batch_norm_momentum(std::nullopt, int64_t(num_batches_tracked->item()));
    }
    // Batch statistics in training, and in eval without running statistics.
    bool use_batch_stats = is_training() || !running_mean;
    return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor,
                      options_.eps);
}

std::string BatchNorm::extra_repr() const {
    std::string momentum = options_.momentum ? fmt::format("{}", *options_.momentum) : "None";
    return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}",
                       num_features_, options_.eps, momentum, options_.affine ? "True" : "False",
                       options_.track_running_stats ? "True" : "False");
}

LayerNorm::LayerNorm(std::vector<int64_t> normalized_shape, double eps, bool elementwise_affine,
                     bool bias)
    : Layer("LayerNorm"), normalized_shape_(std::move(normalized_shape)), eps_(eps),
      elementwise_affine_(elementwise_affine) {
    MARROW_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape must not be empty");
    for (int64_t d : normalized_shape_)
        MARROW_CHECK(d >= 0, "LayerNorm: normalized_shape ({}) has a negative size",
                     fmt::join(normalized_shape_, ", "));
    if (elementwise_affine) {
        weight = register_parameter("weight", ones(normalized_shape_));
        if (bias) this->bias = register_parameter("bias", zeros(normalized_shape_));
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    return layer_norm(x, normalized_shape_, weight, bias, eps_);
}

std::string LayerNorm::extra_repr() const {
    // Python's tuple: (384,) for one dim, (4, 5) for more
    std::string shape = normalized_shape_.size() == 1
                            ? fmt::format("({},)", normalized_shape_[0])
                            : fmt::format("({})", fmt::join(normalized_shape_, ", "));
    return fmt::format("{}, eps={}, elementwise_affine={}", shape, eps_,
                       elementwise_affine_ ? "True" : "False");
}

}  // namespace marrow::nn
