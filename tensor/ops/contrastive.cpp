// Contrastive-loss entry points: argument checks (messages name the op and the shape),
// contiguous inputs and fresh outputs for the kernels (tensor/kernels.h: NtXentKernel,
// KoleoKernel).
#include "tensor/ops/contrastive.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"

namespace marrow::op {
namespace {

// A 2-D float32 / float64 input with at least one column.
void check_rows(const char* op, const char* what, const Tensor& x) {
    MARROW_CHECK(x.dim() == 2, "{}: expected a 2-D input {}, got shape {}", op, what, x.shape());
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "{}: expected a float32 or float64 input, got {} (shape {})", op, x.dtype(),
                 x.shape());
}

// g = dL/dloss: one value of x's dtype on x's device.
void check_upstream(const char* op, const Tensor& g, const Tensor& x) {
    MARROW_CHECK(g.numel() == 1, "{}: expected a 0-d upstream gradient, got shape {}", op,
                 g.shape());
    check_same_dtype(op, g, x);
    check_same_device(op, g, x);
}

void check_nt_xent(const char* op, const Tensor& z, double temperature) {
    check_rows(op, "z (2N, d)", z);
    MARROW_CHECK(z.numel() > 0, "{}: expected a non-empty z (2N, d), got shape ({}, {})", op,
                 z.size(0), z.size(1));
    MARROW_CHECK(z.size(0) % 2 == 0,
                 "{}: expected an even number of rows (views a and b of N images), got z of "
                 "shape ({}, {})",
                 op, z.size(0), z.size(1));
    MARROW_CHECK(std::isfinite(temperature) && temperature > 0,
                 "{}: temperature must be positive and finite, got {} (z of shape ({}, {}))", op,
                 temperature, z.size(0), z.size(1));
}

void check_koleo(const char* op, const Tensor& x, double eps) {
    check_rows(op, "x (B, D)", x);
    MARROW_CHECK(x.size(0) >= 2, "{}: needs at least 2 rows, got ({}, {})", op, x.size(0),
                 x.size(1));
    MARROW_CHECK(x.size(1) > 0, "{}: expected rows of at least one feature, got ({}, {})", op,
                 x.size(0), x.size(1));
    MARROW_CHECK(std::isfinite(eps) && eps >= 0,
                 "{}: eps must be finite and non-negative, got {} (x of shape ({}, {}))", op, eps,
                 x.size(0), x.size(1));
}

}  // namespace

NtXentForward nt_xent(const Tensor& z, double temperature) {
    const char* op = "nt_xent";
    check_nt_xent(op, z, temperature);
    NtXentForward out{empty({}, z.dtype(), z.device()), empty({z.size(0)}, z.dtype(), z.device())};
    kernel<OpId::nt_xent>(z.device(), op)(temperature, contiguous(z), out.loss, out.lse);
    return out;
}

Tensor nt_xent_backward(const Tensor& z, const Tensor& lse, const Tensor& g, double temperature) {
    const char* op = "nt_xent_backward";
    check_nt_xent(op, z, temperature);
    MARROW_CHECK(lse.dim() == 1 && lse.size(0) == z.size(0),
                 "{}: expected lse of shape ({}), got {} (z of shape ({}, {}))", op, z.size(0),
                 lse.shape(), z.size(0), z.size(1));
    check_same_dtype(op, lse, z);
    check_same_device(op, lse, z);
    check_upstream(op, g, z);
    Tensor gz = empty(z.shape(), z.dtype(), z.device());
    kernel<OpId::nt_xent_backward>(z.device(), op)(temperature, contiguous(z), contiguous(lse), g,
                                                   gz);
    return gz;
}

KoleoForward koleo_loss(const Tensor& x, double eps) {
    const char* op = "koleo_loss";
    check_koleo(op, x, eps);
    KoleoForward out{empty({}, x.dtype(), x.device()), empty({x.size(0)}, DType::i64, x.device())};
    kernel<OpId::koleo_loss>(x.device(), op)(eps, contiguous(x), out.loss, out.nn);
    return out;
}

Tensor koleo_loss_backward(const Tensor& x, const Tensor& nn, const Tensor& g, double eps) {
    const char* op = "koleo_loss_backward";
    check_koleo(op, x, eps);
    MARROW_CHECK(nn.dim() == 1 && nn.size(0) == x.size(0) && nn.dtype() == DType::i64,
                 "{}: expected int64 neighbour indices of shape ({}), got {} {} (x of shape "
                 "({}, {}))",
                 op, x.size(0), nn.dtype(), nn.shape(), x.size(0), x.size(1));
    check_same_device(op, nn, x);
    check_upstream(op, g, x);
    Tensor gx = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::koleo_loss_backward>(x.device(), op)(eps, contiguous(x), contiguous(nn), g, gx);
    return gx;
}

}  // namespace marrow::op
