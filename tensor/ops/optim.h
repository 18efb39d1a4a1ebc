// The fused optimizer update's entry point (no autograd: optimizers run under no-grad).
// nn's SGD / Adam / AdamW call it when a parameter, its gradient and its state are
// contiguous float32/float64 tensors on one device; their composite updates are the
// reference (options.fused = false).
#pragma once
#include <vector>

#include "tensor/kernels.h"
#include "tensor/tensor.h"

namespace marrow::op {

// Updates p and `state` in place (sgd: {momentum buffer} or {}; adam: {exp_avg, exp_avg_sq}
// or, with amsgrad, {exp_avg, exp_avg_sq, max_exp_avg_sq}).
void optim_step_(const OptimStepParams& params, const Tensor& p, const Tensor& g,
                 const std::vector<Tensor>& state);
// The same for several parameters that share the step's scalars (one dtype and device): on
// CUDA a few multi-tensor launches instead of one per parameter. ps, gs and states align.
void optim_step_(const OptimStepParams& params, const std::vector<Tensor>& ps,
                 const std::vector<Tensor>& gs, const std::vector<std::vector<Tensor>>& states);
// Whether optim_step_ accepts these tensors (so callers can fall back to the composite).
bool optim_step_supported(const Tensor& p, const Tensor& g, const std::vector<Tensor>& state);

}  // namespace marrow::op
