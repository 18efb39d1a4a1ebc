// Internal to nn/losses_*.cpp: the reduction and the input/target checks every loss shares.
#pragma once
#include <optional>
#include <string_view>

#include "nn/losses.h"

namespace marrow::nn::detail {

// Reduces a per-element loss x: "none" returns it, "sum" sums it, "mean" divides the sum by
// `denominator` when given (weighted or masked means), else takes the plain mean (NaN for an
// empty x, as PyTorch).
Tensor reduce(const Tensor& x, Reduction reduction,
              const std::optional<Tensor>& denominator = std::nullopt);

// Checks a floating input against its target for an elementwise loss and returns the target
// in the input's dtype: an integer or bool target is converted (PyTorch's promotion), a
// different floating dtype is an error naming both. `same_shape` requires equal shapes (the
// error names both); otherwise the two must broadcast.
Tensor checked_target(std::string_view op, const Tensor& input, const Tensor& target,
                      bool same_shape);

// A per-element weight (weight, pos_weight): floating (converted to the input's dtype, as
// cross_entropy's class weight is) and broadcastable to the input's shape without growing it
// (PyTorch: "output with shape [..] doesn't match the broadcast shape [..]").
Tensor checked_weight(std::string_view op, std::string_view what, const Tensor& input,
                      const Tensor& weight);

}  // namespace marrow::nn::detail
