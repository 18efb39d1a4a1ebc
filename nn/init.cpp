#include "nn/init.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn::init {
namespace {

// Writes host values (one per element, row-major) into t on its device and dtype.
void assign(const Tensor& t, std::vector<double> values) {
    autograd::NoGradGuard no_grad;
    Tensor host = from_vector(values, t.shape());
    copy_(t, to(host, t.device(), t.dtype()));
}

// numel draws from U[0, 1) (or N(0, 1)) on the Philox stream, as float64 on the host.
std::vector<double> draw(const Tensor& t, bool normal, Generator* gen) {
    TensorOptions options{.dtype = DType::f64, .generator = gen};
    Tensor r = normal ? randn({t.numel()}, options) : rand({t.numel()}, options);
    const double* p = r.data<double>();
    return std::vector<double>(p, p + t.numel());
}

void check_floating(const Tensor& t, std::string_view what) {
    MARROW_CHECK(is_floating(t.dtype()), "{}: needs a floating tensor, got {}", what, t.dtype());
}

double kaiming_std(const Tensor& t, double a, FanMode mode, std::string_view nonlinearity) {
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    int64_t fan = mode == FanMode::fan_in ? fan_in : fan_out;
    MARROW_CHECK(fan > 0, "kaiming init: the tensor of shape {} has a zero fan", t.shape());
    return calculate_gain(nonlinearity, a) / std::sqrt(double(fan));
}

}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
    MARROW_CHECK(t.dim() >= 2,
                 "fan in and fan out cannot be computed for a tensor with fewer than 2 "
                 "dimensions (shape {})",
                 t.shape());
    int64_t receptive = 1;
    for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
    return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(std::string_view nonlinearity, std::optional<double> param) {
    for (std::string_view linear : {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                    "conv_transpose2d", "conv_transpose3d", "sigmoid"})
        if (nonlinearity == linear) return 1;
    if (nonlinearity == "tanh") return 5.0 / 3;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") {
        double slope = param.value_or(0.01);
        return std::sqrt(2.0 / (1 + slope * slope));
    }
    if (nonlinearity == "selu") return 3.0 / 4;
    fail("calculate_gain: unsupported nonlinearity '{}'", nonlinearity);
}

void uniform_(const Tensor& t, double a, double b, Generator* gen) {
    check_floating(t, "uniform_");
    MARROW_CHECK(a <= b, "uniform_: expected a <= b, got [{}, {}]", a, b);
    std::vector<double> v = draw(t, false, gen);
    for (double& x : v) x = a + (b - a) * x;
    assign(t, std::move(v));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
    check_floating(t, "normal_");
    MARROW_CHECK(std >= 0, "normal_: std must be >= 0, got {}", std);
    std::vector<double> v = draw(t, true, gen);
    for (double& x : v) x = mean + std * x;
    assign(t, std::move(v));
}

double erfinv(double y) {
    MARROW_CHECK(y > -1 && y < 1, "erfinv: argument {} is outside (-1, 1)", y);
    // M. Giles' single-precision approximation, then Newton steps on erf(x) = y to float64.
    double w = -std::log((1 - y) * (1 + y)), x;
    if (w < 5) {
        w -= 2.5;
        double p = 2.81022636e-08;
        for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941})
            p = c + p * w;
        x = p * y;
    } else {
        w = std::sqrt(w) - 3;
        double p = -0.000200214257;
        for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682})
            p = c + p * w;
        x = p * y;
    }
    // Giles' relative error is ~1e-7; Newton converges quadratically: 1e-14, then float64.
    for (int i = 0; i < 2; ++i)
        x -= (std::erf(x) - y) / (2 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
    return x;
}

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
    check_floating(t, "trunc_normal_");
    MARROW_CHECK(a < b && std > 0, "trunc_normal_: expected a < b and std > 0, got [{}, {}], {}",
                 a, b, std);
    auto cdf = [](double x) { return (1 + std::erf(x / std::sqrt(2.0))) / 2; };
    double lo = 2 * cdf((a - mean) / std) - 1, hi = 2 * cdf((b - mean) / std) - 1;
    std::vector<double> v = draw(t, false, gen);
    int64_t n = int64_t(v.size());
    // Element-wise (the draws are fixed first), so threads do not change the values: a
    // ViT-S's 22M weights took 2.6 s on one thread.
#pragma omp parallel for schedule(static) if (n >= 16384)
    for (int64_t i = 0; i < n; ++i) {
        // u in [lo, hi), kept strictly inside (-1, 1) for erfinv.
        double u = std::clamp(lo + (hi - lo) * v[size_t(i)], -1 + 1e-15, 1 - 1e-15);
        v[size_t(i)] = std::clamp(mean + std * std::sqrt(2.0) * erfinv(u), a, b);
    }
    assign(t, std::move(v));
}

void constant_(const Tensor& t, double value) {
    autograd::NoGradGuard no_grad;
    fill_(t, value);
}
void zeros_(const Tensor& t) { constant_(t, 0); }
void ones_(const Tensor& t) { constant_(t, 1); }

void xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
    if (t.numel() == 0) return;  // PyTorch: initializing zero-element tensors is a no-op
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    double a = gain * std::sqrt(6.0 / double(fan_in + fan_out));
    uniform_(t, -a, a, gen);
}

void xavier_normal_(const Tensor& t, double gain, Generator* gen) {
    if (t.numel() == 0) return;  // PyTorch: initializing zero-element tensors is a no-op
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    normal_(t, 0, gain * std::sqrt(2.0 / double(fan_in + fan_out)), gen);
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, std::string_view nonlinearity,
                      Generator* gen) {
    if (t.numel() == 0) return;  // PyTorch: initializing zero-element tensors is a no-op
    double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
    uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, std::string_view nonlinearity,
                     Generator* gen) {
    if (t.numel() == 0) return;  // PyTorch: initializing zero-element tensors is a no-op
    normal_(t, 0, kaiming_std(t, a, mode, nonlinearity), gen);
}

}  // namespace marrow::nn::init
