// CPU unary kernels (forward and backward). The formulas are the reference for every backend;
// each backward line is d f(x)/dx times the incoming gradient g (y = f(x) is passed in so
// kernels reuse it where the derivative is cheapest in terms of y).
#include <cmath>
#include <numbers>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/elementwise.h"

namespace marrow::cpu {
namespace {

template <typename T>
inline T sigmoid_of(T x) {
    // Stable for large |x|: never exponentiates a large positive number.
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
}

constexpr double kSqrtHalf = 0.70710678118654752440;     // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2/pi)
constexpr double kGeluC = 0.044715;

// Calls run(f) with the scalar forward function of `op`.
template <typename T, typename Run>
void with_forward(UnaryOp op, const UnaryParams& p, Run run) {
    const T a = T(p.a), b = T(p.b);
    switch (op) {
        case UnaryOp::neg:
            return run([](T x) { return -x; });
        case UnaryOp::abs:
            return run([](T x) { return std::abs(x); });
        case UnaryOp::sign:
            return run([](T x) { return x != x ? x : T((x > 0) - (x < 0)); });
        case UnaryOp::exp:
            return run([](T x) { return std::exp(x); });
        case UnaryOp::log:
            return run([](T x) { return std::log(x); });
        case UnaryOp::log1p:
            return run([](T x) { return std::log1p(x); });
        case UnaryOp::sqrt:
            return run([](T x) { return std::sqrt(x); });
        case UnaryOp::rsqrt:
            return run([](T x) { return T(1) / std::sqrt(x); });
        case UnaryOp::sin:
            return run([](T x) { return std::sin(x); });
        case UnaryOp::cos:
            return run([](T x) { return std::cos(x); });
        case UnaryOp::tanh:
            return run([](T x) { return std::tanh(x); });
        case UnaryOp::sigmoid:
            return run([](T x) { return sigmoid_of(x); });
        case UnaryOp::relu:
            return run([](T x) { return x > T(0) || x != x ? x : T(0); });
        case UnaryOp::gelu:
            return run([](T x) { return T(0.5) * x * (T(1) + std::erf(x * T(kSqrtHalf))); });
        case UnaryOp::gelu_tanh:
            return run([](T x) {
                T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
                return T(0.5) * x * (T(1) + std::tanh(u));
            });
        case UnaryOp::silu:
            return run([](T x) { return x * sigmoid_of(x); });
        case UnaryOp::softplus:  // beta a, threshold b: linear above the threshold (PyTorch)
            return run([a, b](T x) { return x * a > b ? x : std::log1p(std::exp(x * a)) / a; });
        case UnaryOp::clamp:  // NaN propagates like torch.clamp
            return run([a, b](T x) { return x != x ? x : std::min(std::max(x, a), b); });
        case UnaryOp::pow_scalar:
            if (p.a == 2) return run([](T x) { return x * x; });
            return run([a](T x) { return std::pow(x, a); });
        case UnaryOp::reciprocal:
            return run([](T x) { return T(1) / x; });
    }
}

// Calls run(f) with f(x, y, g) = dL/dx.
template <typename T, typename Run>
void with_backward(UnaryOp op, const UnaryParams& p, Run run) {
    const T a = T(p.a), b = T(p.b);
    switch (op) {
        case UnaryOp::neg:
            return run([](T, T, T g) { return -g; });
        case UnaryOp::abs:
            return run([](T x, T, T g) { return x > 0 ? g : x < 0 ? -g : T(0); });
        case UnaryOp::sign:
            return run([](T, T, T) { return T(0); });
        case UnaryOp::exp:
            return run([](T, T y, T g) { return g * y; });
        case UnaryOp::log:
            return run([](T x, T, T g) { return g / x; });
        case UnaryOp::log1p:
            return run([](T x, T, T g) { return g / (T(1) + x); });
        case UnaryOp::sqrt:
            return run([](T, T y, T g) { return g / (T(2) * y); });
        // y = x^(-1/2): dy/dx = -1/2 x^(-3/2) = -1/2 y^3
        case UnaryOp::rsqrt:
            return run([](T, T y, T g) { return T(-0.5) * g * y * y * y; });
        case UnaryOp::sin:
            return run([](T x, T, T g) { return g * std::cos(x); });
        case UnaryOp::cos:
            return run([](T x, T, T g) { return -g * std::sin(x); });
        case UnaryOp::tanh:
            return run([](T, T y, T g) { return g * (T(1) - y * y); });
        case UnaryOp::sigmoid:
            return run([](T, T y, T g) { return g * y * (T(1) - y); });
        case UnaryOp::relu:
            return run([](T x, T, T g) { return x > T(0) ? g : T(0); });
        // d/dx [x Phi(x)] = Phi(x) + x phi(x)
        case UnaryOp::gelu:
            return run([](T x, T, T g) {
                T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
                T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
                return g * (cdf + x * pdf);
            });
        // y = x/2 (1 + tanh u), u = k (x + c x^3):
        // dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) k (1 + 3 c x^2)
        case UnaryOp::gelu_tanh:
            return run([](T x, T, T g) {
                T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
                T t = std::tanh(u);
                T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x * x);
                return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
            });
        // d/dx [x s(x)] = s + x s (1 - s)
        case UnaryOp::silu:
            return run([](T x, T, T g) {
                T s = sigmoid_of(x);
                return g * s * (T(1) + x * (T(1) - s));
            });
        // d/dx log(1 + e^(ax))/a = sigmoid(ax); identity above the threshold
        case UnaryOp::softplus:
            return run([a, b](T x, T, T g) { return x * a > b ? g : g * sigmoid_of(x * a); });
        case UnaryOp::clamp:  // PyTorch passes the gradient where min <= x <= max
            return run([a, b](T x, T, T g) { return x >= a && x <= b ? g : T(0); });
        case UnaryOp::pow_scalar:
            if (p.a == 0) return run([](T, T, T) { return T(0); });
            return run([a](T x, T, T g) { return g * a * std::pow(x, a - T(1)); });
        // y = 1/x: dy/dx = -1/x^2 = -y^2
        case UnaryOp::reciprocal:
            return run([](T, T y, T g) { return -g * y * y; });
    }
}

}  // namespace

void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& out) {
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        with_forward<T>(op, p, [&](auto f) { map1<T, T>(x, out, f); });
    });
}

void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& y,
                    const Tensor& g, const Tensor& gx) {
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        with_backward<T>(op, p, [&](auto f) { map3<T, T, T, T>(x, y, g, gx, f); });
    });
}

}  // namespace marrow::cpu
