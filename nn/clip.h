// Gradient clipping, applied between backward and the optimizer step (after the gradient
// all-reduce once there is one: Note [Where the gradient all-reduce goes] in nn/optim.h).
// Two different semantics exist in the reference code (ssl_mil_spec.md 0.7), both here:
//   clip_grad_norm_  torch.nn.utils: one global norm over all gradients (DINOv2, per
//                    submodule);
//   clip_gradients   DINO v1 utils.clip_gradients: each parameter's gradient clipped to its
//                    own norm.
// Parameters without a gradient are skipped by all three. Gradients are scaled in place.
#pragma once
#include <limits>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::nn {

constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// torch.nn.utils.clip_grad_norm_: total = the norm_type-norm of the per-parameter
// norm_type-norms (= the norm of all gradients concatenated; norm_type kInfNorm: the largest
// |g|, 0: the count of non-zero norms, as torch), then every gradient is multiplied by
// min(max_norm / (total + 1e-6), 1) (always, as torch: no host round trip to decide). Returns
// total as a 0-d tensor on the gradients' device (a float zero when no parameter has a
// gradient). error_if_nonfinite: a NaN or infinite total is an error before anything is
// scaled (this reads the total on the host).
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2,
                       bool error_if_nonfinite = false);

// torch.nn.utils.clip_grad_value_: every gradient element clamped to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

// DINO v1's clip_gradients(model, clip): per parameter with a gradient, n = ||g||_2 and
// g *= clip / (n + 1e-6) when that is < 1. Returns the norms before clipping (one per
// parameter with a gradient, in order; DINO logs them). Reads each norm on the host.
std::vector<double> clip_gradients(const std::vector<Tensor>& params, double clip);

}  // namespace marrow::nn
