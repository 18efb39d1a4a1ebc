// The scalar formulas of every unary op and its derivative: the reference that the CPU
// kernels (tensor/cpu/unary.cpp) and the CUDA kernels (cuda/kernels/elementwise.cu) both
// instantiate, so every backend computes the same expression.
//
// MARROW_UNARY(op, forward, SAVED, backward): backward(SAVED, g) returns dL/dx = f'(x) g
// from the one value the op saves for backward: the input `x`, the output `y` = f(x) (for
// derivatives cheapest in terms of y: exp, tanh, sigmoid...), or `none`. Only that name is in
// scope in the formula, so an op cannot read a tensor it did not save (Note [Saved tensors]
// in autograd/node.h). Parameters: clamp [a, b]; pow_scalar exponent a; softplus beta a,
// threshold b.
#pragma once
#include "tensor/kernels.h"
#include "tensor/math/host_device.h"

namespace marrow::math {

inline constexpr double kSqrtHalf = 0.70710678118654752440;     // 1/sqrt(2)
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/sqrt(2 pi)
inline constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2/pi)
inline constexpr double kGeluC = 0.044715;

// Stable for large |x|: never exponentiates a large positive number.
template <typename T>
MARROW_HOST_DEVICE inline T sigmoid_of(T x) {
    if (x >= T(0)) return T(1) / (T(1) + MARROW_MATH(exp)(-x));
    T e = MARROW_MATH(exp)(x);
    return e / (T(1) + e);
}

template <UnaryOp Op>
struct Unary;

#define MARROW_UNARY_SAVES_x UnarySaves::input
#define MARROW_UNARY_SAVES_y UnarySaves::output
#define MARROW_UNARY_SAVES_none UnarySaves::nothing  // backward gets g in its place
#define MARROW_UNARY(OP, FORWARD, SAVED, BACKWARD)                           \
    template <>                                                              \
    struct Unary<UnaryOp::OP> {                                              \
        static constexpr UnarySaves saves = MARROW_UNARY_SAVES_##SAVED;      \
        template <typename T>                                                \
        MARROW_HOST_DEVICE static T forward(T x, T a, T b) {                 \
            (void)a;                                                         \
            (void)b;                                                         \
            FORWARD;                                                         \
        }                                                                    \
        template <typename T>                                                \
        MARROW_HOST_DEVICE static T backward(T SAVED, T g, T a, T b) {       \
            (void)SAVED;                                                     \
            (void)g;                                                         \
            (void)a;                                                         \
            (void)b;                                                         \
            BACKWARD;                                                        \
        }                                                                    \
    };

MARROW_UNARY(neg, return -x, none, return -g)
MARROW_UNARY(abs, return MARROW_MATH(abs)(x), x, return x > T(0) ? g : x < T(0) ? -g : T(0))
MARROW_UNARY(sign, return x != x ? x : T((x > T(0)) - (x < T(0))), none, return T(0))
MARROW_UNARY(exp, return MARROW_MATH(exp)(x), y, return g * y)
MARROW_UNARY(log, return MARROW_MATH(log)(x), x, return g / x)
MARROW_UNARY(log1p, return MARROW_MATH(log1p)(x), x, return g / (T(1) + x))
MARROW_UNARY(sqrt, return MARROW_MATH(sqrt)(x), y, return g / (T(2) * y))
// y = x^(-1/2): dy/dx = -1/2 x^(-3/2) = -1/2 y^3
MARROW_UNARY(rsqrt, return T(1) / MARROW_MATH(sqrt)(x), y, return T(-0.5) * g * y * y * y)
MARROW_UNARY(sin, return MARROW_MATH(sin)(x), x, return g * MARROW_MATH(cos)(x))
MARROW_UNARY(cos, return MARROW_MATH(cos)(x), x, return -g * MARROW_MATH(sin)(x))
MARROW_UNARY(tanh, return MARROW_MATH(tanh)(x), y, return g * (T(1) - y * y))
MARROW_UNARY(sigmoid, return sigmoid_of(x), y, return g * y * (T(1) - y))
// relu keeps NaN (PyTorch); its gradient passes where x > 0, i.e. where y > 0 (PyTorch's
// threshold_backward reads the result too)
MARROW_UNARY(relu, return x > T(0) || x != x ? x : T(0), y, return y > T(0) ? g : T(0))
// gelu = x Phi(x): d/dx = Phi(x) + x phi(x)
MARROW_UNARY(gelu, return T(0.5) * x * (T(1) + MARROW_MATH(erf)(x * T(kSqrtHalf))), x, {
    T cdf = T(0.5) * (T(1) + MARROW_MATH(erf)(x * T(kSqrtHalf)));
    T pdf = T(kInvSqrt2Pi) * MARROW_MATH(exp)(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
})
// y = x/2 (1 + tanh u), u = k (x + c x^3):
// dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) k (1 + 3 c x^2)
MARROW_UNARY(
    gelu_tanh,
    {
        T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
        return T(0.5) * x * (T(1) + MARROW_MATH(tanh)(u));
    },
    x,
    {
        T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
        T t = MARROW_MATH(tanh)(u);
        T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x * x);
        return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    })
// silu = x s(x): d/dx = s + x s (1 - s)
MARROW_UNARY(silu, return x * sigmoid_of(x), x, {
    T s = sigmoid_of(x);
    return g * s * (T(1) + x * (T(1) - s));
})
// softplus = log(1 + e^(ax))/a, linear above the threshold: d/dx = sigmoid(ax)
MARROW_UNARY(softplus, return x * a > b ? x : MARROW_MATH(log1p)(MARROW_MATH(exp)(x * a)) / a, x,
             return x * a > b ? g : g * sigmoid_of(x * a))
// clamp keeps NaN; PyTorch passes the gradient where min <= x <= max
MARROW_UNARY(clamp, return x != x ? x : (x < a ? a : (x > b ? b : x)), x,
             return x >= a && x <= b ? g : T(0))
MARROW_UNARY(pow_scalar, return a == T(2) ? x * x : MARROW_MATH(pow)(x, a), x,
             return a == T(0) ? T(0) : g * a * MARROW_MATH(pow)(x, a - T(1)))
// y = 1/x: dy/dx = -1/x^2 = -y^2
MARROW_UNARY(reciprocal, return T(1) / x, y, return -g * y * y)

#undef MARROW_UNARY
#undef MARROW_UNARY_SAVES_x
#undef MARROW_UNARY_SAVES_y
#undef MARROW_UNARY_SAVES_none

// Calls fn.template operator()<Op>() with `op` as a compile-time constant (host side).
template <typename Fn>
void visit_unary(UnaryOp op, Fn&& fn) {
    switch (op) {
#define MARROW_UNARY_VISIT(name) \
    case UnaryOp::name:          \
        return fn.template operator()<UnaryOp::name>();
        MARROW_FORALL_UNARY(MARROW_UNARY_VISIT)
#undef MARROW_UNARY_VISIT
    }
}

}  // namespace marrow::math
