// layer_norm entry points (no autograd), with torch.nn.functional.layer_norm's argument checks.
// Layers call the differentiable marrow::layer_norm (autograd/functions/layer_norm.cpp)
// instead (Note [Raw entry points], tensor.h).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::op {

// y and the per-row statistics y was normalized with (mean, rstd: (M,), M = the product of
// x's leading dims), which layer_norm_backward takes. x: (*, normalized_shape); weight, bias:
// normalized_shape.
struct LayerNormForward {
    Tensor y, mean, rstd;
};
LayerNormForward layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                            const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                            double eps);

// Which gradients to compute, and the ones computed (nullopt where not asked).
struct LayerNormNeeds {
    bool x = true, weight = false, bias = false;
};
struct LayerNormGrads {
    std::optional<Tensor> x, weight, bias;
};
// g = dL/dy: x's shape; mean, rstd: the forward's. x, mean and rstd may be omitted only when
// dbias (which reads g alone) is the one gradient asked.
LayerNormGrads layer_norm_backward(const Tensor& g, const std::optional<Tensor>& x,
                                   const std::vector<int64_t>& normalized_shape,
                                   const std::optional<Tensor>& mean,
                                   const std::optional<Tensor>& rstd,
                                   const std::optional<Tensor>& weight, LayerNormNeeds needs);

}  // namespace marrow::op
