// Parameter initializers with torch.nn.init's names, formulas and fan rules, drawing from the
// Philox stream (a Generator, or the default one), so a seed gives the same weights on every
// device and thread count. Values are drawn on the host in float64 and copied into the tensor
// (initialization is a one-off; the host keeps the formulas readable).
//
// Same distribution as PyTorch, not the same numbers (PyTorch's CPU generator is a Mersenne
// twister): checkpoints, not seeds, carry weights across frameworks.
#pragma once
#include <optional>
#include <string_view>
#include <utility>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace marrow::nn::init {

enum class FanMode { fan_in, fan_out };

// torch.nn.init._calculate_fan_in_and_fan_out: for a (out, in, k...) weight, fan_in =
// in * prod(k), fan_out = out * prod(k); needs at least 2 dims.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
// torch.nn.init.calculate_gain: linear/conv*/sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + slope^2)) (slope default 0.01), selu 3/4.
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

void uniform_(const Tensor& t, double a = 0, double b = 1, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean = 0, double std = 1, Generator* gen = nullptr);
// Normal(mean, std) truncated to [a, b] by inverse-CDF sampling (PyTorch's method: uniform
// between the CDF values of the bounds, then erfinv), as ViT and DINO heads use.
void trunc_normal_(const Tensor& t, double mean = 0, double std = 1, double a = -2, double b = 2,
                   Generator* gen = nullptr);
void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
// U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)); normal: std = gain sqrt(2 / (fan_in + fan_out)).
void xavier_uniform_(const Tensor& t, double gain = 1, Generator* gen = nullptr);
void xavier_normal_(const Tensor& t, double gain = 1, Generator* gen = nullptr);
// std = gain(nonlinearity, a) / sqrt(fan); uniform bound = sqrt(3) std. torchvision's ResNet
// uses kaiming_normal_(w, 0, fan_out, "relu"); Linear and Conv2d's defaults are
// kaiming_uniform_(w, sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void kaiming_uniform_(const Tensor& t, double a = 0, FanMode mode = FanMode::fan_in,
                      std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr);
void kaiming_normal_(const Tensor& t, double a = 0, FanMode mode = FanMode::fan_in,
                     std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr);

// The inverse error function in float64 (|y| < 1), for trunc_normal_; exposed for its test.
double erfinv(double y);

}  // namespace marrow::nn::init
