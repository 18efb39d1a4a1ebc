// The backward engine: runs the graph in reverse topological order (highest sequence number
// first among ready nodes, so the order is deterministic), sums the gradients that reach each
// node output, checks every gradient's shape against the input it belongs to, and lets only
// AccumulateGrad write into leaves. Backward runs with grad mode off (no double backward).
#pragma once
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::autograd {

// roots[i] gets gradient grads[i] (nullopt: ones, allowed only for one-element roots).
void backward(const std::vector<Tensor>& roots, const std::vector<std::optional<Tensor>>& grads,
              bool retain_graph = false);

}  // namespace marrow::autograd
