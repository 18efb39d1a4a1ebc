// cross_entropy_crops / soft_cross_entropy entry points: argument checks (messages name the op
// and both shapes), contiguous inputs for the kernels (tensor/kernels.h:
// SoftCrossEntropyKernel), the per-row losses summed here in a fixed order.
#include "tensor/ops/crop_cross_entropy.h"

#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/reduce.h"

namespace marrow::op {
namespace {

void check_float(const char* op, const char* what, const Tensor& t) {
    MARROW_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64,
                 "{}: expected float32 or float64 {}, got {} (shape {})", op, what, t.dtype(),
                 t.shape());
}

void check_temperature(const char* op, double tau, const Tensor& logits) {
    MARROW_CHECK(std::isfinite(tau) && tau > 0,
                 "{}: the temperature must be a positive number, got {} (logits shape {})", op, tau,
                 logits.shape());
}

// Shapes, dtypes and devices of the crops form; returns its kernel parameters.
SoftCrossEntropyParams crops_params(const char* op, const Tensor& targets, const Tensor& logits,
                                    double tau) {
    MARROW_CHECK(targets.dim() == 3 && logits.dim() == 3,
                 "{}: expected targets (T, B, K) and student logits (V, B, K), got targets of "
                 "shape {} and student logits of shape {}",
                 op, targets.shape(), logits.shape());
    MARROW_CHECK(targets.size(1) == logits.size(1) && targets.size(2) == logits.size(2),
                 "{}: targets (T, B, K) and student logits (V, B, K) must agree in B and K, got "
                 "targets of shape {} and student logits of shape {}",
                 op, targets.shape(), logits.shape());
    int64_t t = targets.size(0), v = logits.size(0);
    MARROW_CHECK(t >= 1 && t <= v,
                 "{}: expected 1 <= T <= V (targets (T, B, K) come from the first T crops), got "
                 "targets of shape {} and student logits of shape {}",
                 op, targets.shape(), logits.shape());
    MARROW_CHECK(t * v - t > 0,
                 "{}: no loss terms (T = V = 1: the one crop is never compared with itself), "
                 "targets of shape {} and student logits of shape {}",
                 op, targets.shape(), logits.shape());
    MARROW_CHECK(logits.size(1) > 0 && logits.size(2) > 0,
                 "{}: expected a non-empty batch and K > 0, got targets of shape {} and student "
                 "logits of shape {}",
                 op, targets.shape(), logits.shape());
    check_float(op, "student logits", logits);
    check_same_dtype(op, targets, logits);
    check_same_device(op, targets, logits);
    check_temperature(op, tau, logits);
    SoftCrossEntropyParams p;
    p.t = t, p.v = v, p.b = logits.size(1), p.k = logits.size(2);
    p.inv_tau = 1 / tau;
    p.scale = 1.0 / double((t * v - t) * p.b);  // the mean over b and over the terms
    p.crops = true;
    return p;
}

SoftCrossEntropyParams rows_params(const char* op, const Tensor& targets, const Tensor& logits,
                                   const Tensor& weights, double tau) {
    MARROW_CHECK(logits.dim() == 2 && targets.shape() == logits.shape(),
                 "{}: expected targets and logits of one shape (R, K), got targets of shape {} "
                 "and logits of shape {}",
                 op, targets.shape(), logits.shape());
    MARROW_CHECK(weights.dim() == 1 && weights.size(0) == logits.size(0),
                 "{}: expected row weights of shape (R,) for logits of shape {}, got shape {}", op,
                 logits.shape(), weights.shape());
    MARROW_CHECK(logits.size(1) > 0, "{}: expected K > 0, got logits of shape {}", op,
                 logits.shape());
    check_float(op, "logits", logits);
    check_same_dtype(op, targets, logits);
    check_same_dtype(op, weights, logits);
    check_same_device(op, targets, logits);
    check_same_device(op, weights, logits);
    check_temperature(op, tau, logits);
    SoftCrossEntropyParams p;
    p.b = logits.size(0), p.k = logits.size(1);
    p.inv_tau = 1 / tau;
    p.crops = false;
    return p;
}

void check_grad(const char* op, const Tensor& g, const Tensor& lse, const Tensor& logits,
                const Shape& lse_shape) {
    MARROW_CHECK(g.numel() == 1, "{}: expected a one-element gradient, got shape {}", op,
                 g.shape());
    MARROW_CHECK(lse.shape() == lse_shape,
                 "{}: expected the forward's lse of shape {} for logits of shape {}, got {}", op,
                 lse_shape, logits.shape(), lse.shape());
    check_same_dtype(op, g, logits);
    check_same_device(op, g, logits);
    check_same_dtype(op, lse, logits);
    check_same_device(op, lse, logits);
}

SoftCrossEntropyForward forward(const char* op, const SoftCrossEntropyParams& p,
                                const Tensor& targets, const Tensor& logits, const Tensor* weights,
                                const Shape& lse_shape) {
    Tensor row_loss = empty({p.v * p.b}, logits.dtype(), logits.device());
    Tensor lse = empty(lse_shape, logits.dtype(), logits.device());
    if (p.b > 0) {
        Tensor w = weights ? contiguous(*weights) : row_loss;
        kernel<OpId::soft_cross_entropy>(logits.device(), op)(
            p, contiguous(targets), contiguous(logits), weights ? &w : nullptr, row_loss, lse);
    }
    return {reduce(ReduceOp::sum, row_loss, {}, false), lse};
}

Tensor backward(const char* op, const SoftCrossEntropyParams& p, const Tensor& g,
                const Tensor& targets, const Tensor& logits, const Tensor* weights,
                const Tensor& lse) {
    Tensor d = empty(logits.shape(), logits.dtype(), logits.device());
    if (p.b == 0) return d;
    Tensor w = weights ? contiguous(*weights) : d;
    kernel<OpId::soft_cross_entropy_backward>(logits.device(), op)(
        p, contiguous(targets), contiguous(logits), weights ? &w : nullptr, contiguous(lse),
        contiguous(g), d);
    return d;
}

}  // namespace

SoftCrossEntropyForward cross_entropy_crops(const Tensor& targets, const Tensor& student_logits,
                                            double student_temperature) {
    const char* op = "cross_entropy_crops";
    SoftCrossEntropyParams p = crops_params(op, targets, student_logits, student_temperature);
    return forward(op, p, targets, student_logits, nullptr, {p.v, p.b});
}

Tensor cross_entropy_crops_backward(const Tensor& g, const Tensor& targets,
                                    const Tensor& student_logits, const Tensor& lse,
                                    double student_temperature) {
    const char* op = "cross_entropy_crops_backward";
    SoftCrossEntropyParams p = crops_params(op, targets, student_logits, student_temperature);
    check_grad(op, g, lse, student_logits, {p.v, p.b});
    return backward(op, p, g, targets, student_logits, nullptr, lse);
}

SoftCrossEntropyForward soft_cross_entropy(const Tensor& targets, const Tensor& logits,
                                           const Tensor& row_weights, double temperature) {
    const char* op = "soft_cross_entropy";
    SoftCrossEntropyParams p = rows_params(op, targets, logits, row_weights, temperature);
    return forward(op, p, targets, logits, &row_weights, {p.b});
}

Tensor soft_cross_entropy_backward(const Tensor& g, const Tensor& targets, const Tensor& logits,
                                   const Tensor& row_weights, const Tensor& lse,
                                   double temperature) {
    const char* op = "soft_cross_entropy_backward";
    SoftCrossEntropyParams p = rows_params(op, targets, logits, row_weights, temperature);
    check_grad(op, g, lse, logits, {p.b});
    return backward(op, p, g, targets, logits, &row_weights, lse);
}

}  // namespace marrow::op
