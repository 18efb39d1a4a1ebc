// Elementwise ops with their backward. Unary ops share one pattern: the forward kernel, and a
// backward kernel computing f'(x) * g from the one tensor the op saves (formulas and
// derivations in tensor/math/unary_math.h, shared by every backend). Binary ops derive here;
// every broadcasting backward ends with sum_to(grad, input shape).
#include "tensor/ops/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/copy.h"

namespace marrow {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::needs_grad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

namespace {

// Saves only what the op's derivative reads: x, y = f(x), or nothing (unary_saves).
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, UnaryParams params = {}) {
    Tensor y = op::unary(op, x, params);
    UnarySaves saves = unary_saves(op);
    bool needed = autograd::needs_grad(x);
    SavedTensor s = save_if(needed && saves != UnarySaves::nothing,
                            saves == UnarySaves::output ? y : x, name);
    return record(name, {x}, y, [=](const Grads& g) -> Grads {
        return {op::unary_backward(op, s.defined() ? s.get() : *g[0], *g[0], params)};
    });
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_op("neg", UnaryOp::neg, x); }
Tensor abs(const Tensor& x) { return unary_op("abs", UnaryOp::abs, x); }
Tensor sign(const Tensor& x) { return unary_op("sign", UnaryOp::sign, x); }
Tensor exp(const Tensor& x) { return unary_op("exp", UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary_op("log", UnaryOp::log, x); }
Tensor log1p(const Tensor& x) { return unary_op("log1p", UnaryOp::log1p, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", UnaryOp::sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_op("rsqrt", UnaryOp::rsqrt, x); }
Tensor sin(const Tensor& x) { return unary_op("sin", UnaryOp::sin, x); }
Tensor cos(const Tensor& x) { return unary_op("cos", UnaryOp::cos, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", UnaryOp::sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", UnaryOp::relu, x); }
Tensor gelu(const Tensor& x, std::string_view approximate) {
    MARROW_CHECK(approximate == "none" || approximate == "tanh",
                 "gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
    return approximate == "tanh" ? unary_op("gelu", UnaryOp::gelu_tanh, x)
                                 : unary_op("gelu", UnaryOp::gelu, x);
}
Tensor silu(const Tensor& x) { return unary_op("silu", UnaryOp::silu, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) {
    MARROW_CHECK(beta != 0, "softplus: beta must be nonzero");
    return unary_op("softplus", UnaryOp::softplus, x, {beta, threshold});
}
Tensor clamp(const Tensor& x, double min, double max) {
    MARROW_CHECK(min <= max, "clamp: min {} > max {}", min, max);
    return unary_op("clamp", UnaryOp::clamp, x, {min, max});
}
Tensor pow(const Tensor& x, double exponent) {
    return unary_op("pow", UnaryOp::pow_scalar, x, {exponent, 0});
}
Tensor reciprocal(const Tensor& x) { return unary_op("reciprocal", UnaryOp::reciprocal, x); }

// ---- binary. For c = a (op) b with broadcasting, dL/da = sum_to(dc/da * g, a.shape).
Tensor add(const Tensor& a, const Tensor& b) {
    Shape sa = a.shape(), sb = b.shape();
    return record("add", {a, b}, op::binary(BinaryOp::add, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      return {needs[0] ? sum_to(*g[0], sa) : Grads::value_type(),
                              needs[1] ? sum_to(*g[0], sb) : Grads::value_type()};
                  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Shape sa = a.shape(), sb = b.shape();
    return record("sub", {a, b}, op::binary(BinaryOp::sub, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      return {needs[0] ? sum_to(*g[0], sa) : Grads::value_type(),
                              needs[1] ? sum_to(neg(*g[0]), sb) : Grads::value_type()};
                  });
}

// d(ab)/da = b, d(ab)/db = a: each operand is saved only for the other's gradient.
Tensor mul(const Tensor& a, const Tensor& b) {
    SavedTensor sa = save_if(needs_grad(b), a, "mul"), sb = save_if(needs_grad(a), b, "mul");
    Shape sha = a.shape(), shb = b.shape();
    return record("mul", {a, b}, op::binary(BinaryOp::mul, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      return {needs[0] ? sum_to(*g[0] * sb.get(), sha) : Grads::value_type(),
                              needs[1] ? sum_to(*g[0] * sa.get(), shb) : Grads::value_type()};
                  });
}

// d(a/b)/da = 1/b, d(a/b)/db = -a/b^2: b is always read, a only for b's gradient.
Tensor div(const Tensor& a, const Tensor& b) {
    SavedTensor sa = save_if(needs_grad(b), a, "div"), sb(b, "div");
    Shape sha = a.shape(), shb = b.shape();
    return record("div", {a, b}, op::binary(BinaryOp::div, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      const Tensor& y = sb.get();
                      Tensor ga = *g[0] / y;
                      return {needs[0] ? sum_to(ga, sha) : Grads::value_type(),
                              needs[1] ? sum_to(neg(ga * sa.get() / y), shb)
                                       : Grads::value_type()};
                  });
}

// c = a^b: dc/da = b a^(b-1); dc/db = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch).
Tensor pow(const Tensor& a, const Tensor& b) {
    Tensor c = op::binary(BinaryOp::pow, a, b);
    SavedTensor sa(a, "pow"), sb(b, "pow"), sc = save_if(needs_grad(b), c, "pow");
    return record("pow", {a, b}, c, [=](const Grads& g, const NeedsGrad& needs) -> Grads {
        const Tensor &x = sa.get(), &y = sb.get();
        Grads out(2);
        if (needs[0]) out[0] = sum_to(*g[0] * y * pow(x, y - 1.0), x.shape());
        if (needs[1]) {
            Tensor zero_base = logical_and(eq(x, 0.0), ge(y, 0.0));
            out[1] = sum_to(masked_fill(*g[0] * sc.get() * log(x), zero_base, 0), y.shape());
        }
        return out;
    });
}

// maximum/minimum: the gradient goes to the larger (smaller) input; ties split it in half
// (PyTorch's rule).
static Tensor extremum(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
    SavedTensor sa(a, name), sb(b, name);
    bool is_max = op == BinaryOp::maximum;
    return record(name, {a, b}, op::binary(op, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      const Tensor &x = sa.get(), &y = sb.get();
                      Tensor half = *g[0] * 0.5;
                      Tensor zero = zeros_like(*g[0]);
                      Tensor a_wins = is_max ? gt(x, y) : lt(x, y);
                      Tensor b_wins = is_max ? lt(x, y) : gt(x, y);
                      Grads out(2);
                      if (needs[0])
                          out[0] = sum_to(where(a_wins, *g[0], where(b_wins, zero, half)),
                                          x.shape());
                      if (needs[1])
                          out[1] = sum_to(where(b_wins, *g[0], where(a_wins, zero, half)),
                                          y.shape());
                      return out;
                  });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
    return extremum("maximum", BinaryOp::maximum, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
    return extremum("minimum", BinaryOp::minimum, a, b);
}

Tensor scalar_like(const Tensor& t, double value) { return full({}, value, t.dtype(), t.device()); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }
Tensor operator-(const Tensor& x) { return neg(x); }

// ---- comparisons: no gradient
Tensor eq(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return op::binary(BinaryOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return op::binary(BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, double b) { return op::binary(BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, double b) { return op::binary(BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, double b) { return op::binary(BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, double b) { return op::binary(BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, double b) { return op::binary(BinaryOp::ge, a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
    return op::binary(BinaryOp::logical_and, a, b);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
    return op::binary(BinaryOp::logical_or, a, b);
}
Tensor logical_not(const Tensor& a) { return op::binary(BinaryOp::eq, a, 0.0); }

// where(c, a, b): the gradient flows to a where c holds, to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    Shape sa = a.shape(), sb = b.shape();
    Tensor c = cond;
    return record("where", {a, b}, op::where(cond, a, b),
                  [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                      Tensor zero = zeros_like(*g[0]);
                      Grads out(2);
                      if (needs[0]) out[0] = sum_to(op::where(c, *g[0], zero), sa);
                      if (needs[1]) out[1] = sum_to(op::where(c, zero, *g[0]), sb);
                      return out;
                  });
}

// masked_fill(x, m, v) = where(m, v, x): the gradient is g with masked positions zeroed.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    MARROW_CHECK(mask.dtype() == DType::b8, "masked_fill: mask must be bool, got {}", mask.dtype());
    Tensor m = mask;
    Shape sx = x.shape();
    Tensor y = op::where(mask, full({}, value, x.dtype(), x.device()), x);
    MARROW_CHECK(y.shape() == x.shape(), "masked_fill: mask shape {} does not broadcast to {}",
                 mask.shape(), x.shape());
    return record("masked_fill", {x}, y, [=](const Grads& g) -> Grads {
        return {op::where(m, zeros_like(*g[0]), *g[0])};
    });
}

// ---- conversions
Tensor to(const Tensor& x, DType dtype) {
    DType from = x.dtype();
    Tensor y = op::to_dtype(x, dtype);
    if (!is_floating(dtype) || !is_floating(from)) return y.is_same(x) ? y.alias() : y;
    return record("to", {x}, y,
                  [=](const Grads& g) -> Grads { return {op::to_dtype(*g[0], from)}; });
}

Tensor to(const Tensor& x, Device device) {
    Device from = x.device();
    return record("to", {x}, op::to_device(x, device),
                  [=](const Grads& g) -> Grads { return {op::to_device(*g[0], from)}; });
}

Tensor to(const Tensor& x, Device device, DType dtype) {
    // Convert where it is cheaper: narrowing before the copy moves fewer bytes.
    return dtype_size(dtype) < x.element_size() ? to(to(x, dtype), device)
                                                : to(to(x, device), dtype);
}

Tensor contiguous(const Tensor& x) {
    return record("contiguous", {x}, op::contiguous(x),
                  [](const Grads& g) -> Grads { return {*g[0]}; });
}

Tensor clone(const Tensor& x) {
    return record("clone", {x}, op::clone(x), [](const Grads& g) -> Grads { return {*g[0]}; });
}

Tensor detach(const Tensor& x) { return x.alias(); }

void synchronize(Device device) { op::synchronize(device); }

// ---- in-place
static void check_inplace(const char* name, const Tensor& t) {
    MARROW_CHECK(!(autograd::grad_enabled() && t.requires_grad()),
                 "{}: in-place update of a tensor that requires grad (shape {}); wrap it in "
                 "autograd::NoGradGuard (as optimizers do)",
                 name, t.shape());
}
void copy_(const Tensor& dst, const Tensor& src) {
    check_inplace("copy_", dst);
    op::copy_(dst, src);
}
void fill_(const Tensor& dst, double value) {
    check_inplace("fill_", dst);
    op::fill_(dst, value);
}
void zero_(const Tensor& dst) { fill_(dst, 0); }
void add_(const Tensor& dst, const Tensor& src, double alpha) {
    check_inplace("add_", dst);
    op::binary_(BinaryOp::add, dst, alpha == 1 ? src : op::binary(BinaryOp::mul, src, alpha));
}
void mul_(const Tensor& dst, double value) {
    check_inplace("mul_", dst);
    op::binary_(BinaryOp::mul, dst, full({}, value, dst.dtype(), dst.device()));
}

}  // namespace marrow
