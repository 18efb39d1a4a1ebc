#include "nn/layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator* gen)
    : Layer("Linear"),
      weight(register_parameter("weight", empty({std::max<int64_t>(out_features, 0),
                                                 std::max<int64_t>(in_features, 0)}))),
      in_(in_features),
      out_(out_features) {
    MARROW_CHECK(in_features >= 0 && out_features >= 0,
                 "Linear: feature counts must be >= 0, got in {} out {}", in_features,
                 out_features);
    if (has_bias) bias = register_parameter("bias", empty({out_features}));
    reset_parameters(gen);
}

void Linear::reset_parameters(Generator* gen) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, "leaky_relu", gen);
    if (bias) {
        double bound = in_ > 0 ? 1 / std::sqrt(double(in_)) : 0;
        init::uniform_(*bias, -bound, bound, gen);
    }
}

Tensor Linear::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() >= 1 && x.size(-1) == in_,
                 "Linear({}, {}): input of shape {} does not end in {} features", in_, out_,
                 x.shape(), in_);
    return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
    return fmt::format("in_features={}, out_features={}, bias={}", in_, out_,
                       bias ? "True" : "False");
}

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_, end_); }
std::string Flatten::extra_repr() const {
    return fmt::format("start_dim={}, end_dim={}", start_, end_);
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Tanh::forward(const Tensor& x) { return marrow::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

GELU::GELU(std::string approximate) : Layer("GELU"), approximate_(std::move(approximate)) {
    MARROW_CHECK(approximate_ == "none" || approximate_ == "tanh",
                 "GELU: approximate must be 'none' or 'tanh', got '{}'", approximate_);
}
Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate_); }
std::string GELU::extra_repr() const { return "approximate='" + approximate_ + "'"; }

Tensor SiLU::forward(const Tensor& x) { return silu(x); }

DropPath::DropPath(double p, Generator* gen) : Layer("DropPath"), p_(p), gen_(gen) {
    MARROW_CHECK(p >= 0 && p <= 1, "DropPath: drop probability must be in [0, 1], got {}", p);
}
Tensor DropPath::forward(const Tensor& x) {
    return drop_path(x, p_, is_training(), gen_ ? *gen_ : default_generator());
}
std::string DropPath::extra_repr() const { return fmt::format("drop_prob={:.3f}", p_); }

}  // namespace marrow::nn
