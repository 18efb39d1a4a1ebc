// Gradient clipping; see clip.h. References: torch/nn/utils/clip_grad.py (torch 1.13),
// facebookresearch/dino utils.py (clip_gradients).
#include "nn/clip.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::nn {

namespace {

std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
    std::vector<Tensor> grads;
    for (const Tensor& p : params)
        if (p.has_grad()) grads.push_back(p.grad());
    return grads;
}

// The norm_type-"norm" of one tensor: max |x| for inf, the count of non-zeros for 0.
Tensor vector_norm(const Tensor& x, double norm_type) {
    if (std::isinf(norm_type)) return max(abs(x));
    if (norm_type == 0) return sum(to(ne(x, 0.0), x.dtype()));
    return norm(x, norm_type);
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
    MARROW_CHECK(
        norm_type >= 0 && !std::isnan(norm_type) && !(std::isinf(norm_type) && norm_type < 0),
        "clip_grad_norm_: norm_type must be >= 0 or infinity, got {}", norm_type);
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> grads = grads_of(params);
    if (grads.empty()) return scalar_tensor(0.0);
    const Tensor& first = grads[0];
    std::vector<Tensor> norms;
    for (const Tensor& g : grads) {
        MARROW_CHECK(g.device() == first.device() && g.dtype() == first.dtype(),
                     "clip_grad_norm_: gradients of shape {} ({}, {}) and {} ({}, {}) differ "
                     "in device or dtype",
                     first.shape(), first.dtype(), first.device(), g.shape(), g.dtype(),
                     g.device());
        norms.push_back(vector_norm(g, norm_type));
    }
    // torch: norms[0] alone for inf with one parameter; the stacked norm is the same value.
    Tensor total = vector_norm(stack(norms), norm_type);
    if (error_if_nonfinite)
        MARROW_CHECK(std::isfinite(total.item()),
                     "clip_grad_norm_: the total norm of order {} for gradients from "
                     "`parameters` is non-finite ({}), so it cannot be clipped. To scale the "
                     "gradients by the non-finite norm anyway, set error_if_nonfinite=false",
                     norm_type, total.item());
    Tensor coef = clamp(max_norm / (total + 1e-6), -kInfNorm, 1.0);
    for (const Tensor& g : grads) copy_(g, g * coef);
    return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
    MARROW_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
    autograd::NoGradGuard no_grad;
    for (const Tensor& g : grads_of(params)) copy_(g, clamp(g, -clip_value, clip_value));
}

std::vector<double> clip_gradients(const std::vector<Tensor>& params, double clip) {
    autograd::NoGradGuard no_grad;
    std::vector<double> norms;
    for (const Tensor& g : grads_of(params)) {
        Tensor n = norm(g);
        norms.push_back(n.item());
        // DINO: clip_coef = clip / (param_norm + 1e-6) as a tensor in the gradient's dtype.
        Tensor coef = clip / (n + 1e-6);
        if (coef.item() < 1) copy_(g, g * coef);
    }
    return norms;
}

}  // namespace marrow::nn
