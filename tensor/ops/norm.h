// Normalization entry points (no autograd): batch_norm forward and backward, with
// torch.nn.functional.batch_norm's argument checks. Layers call the differentiable
// marrow::batch_norm (autograd/functions/norm.cpp) instead (Note [Raw entry points], tensor.h).
#pragma once
#include <optional>

#include "tensor/kernels.h"
#include "tensor/tensor.h"

namespace marrow::op {

// y and the per-channel statistics y was normalized with (mean, invstd: (C,)), which
// batch_norm_backward takes. x: (N, C, *); the optional tensors: (C,).
struct BatchNormForward {
    Tensor y, mean, invstd;
};
BatchNormForward batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean,
                            const std::optional<Tensor>& running_var,
                            const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                            const BatchNormParams& params);

// Which gradients to compute, and the ones computed (nullopt where not asked).
struct BatchNormNeeds {
    bool x = true, weight = false, bias = false;
};
struct BatchNormGrads {
    std::optional<Tensor> x, weight, bias;
};
// g = dL/dy: x's shape. x may be omitted only when the one gradient asked is dx in eval mode.
BatchNormGrads batch_norm_backward(const Tensor& g, const std::optional<Tensor>& x,
                                   const Tensor& mean, const Tensor& invstd,
                                   const std::optional<Tensor>& weight, bool training,
                                   BatchNormNeeds needs);

}  // namespace marrow::op
