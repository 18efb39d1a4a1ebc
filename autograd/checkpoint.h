// Activation checkpointing (torch.utils.checkpoint): run a piece of the network without
// keeping its activations, and run it again in backward to get them back.
//
//   Tensor y = autograd::checkpoint([&](const Tensor& t) { return block->forward(t); }, x);
//
// Forward: fn runs with grad mode off, so the graph keeps only the inputs (not the
// activations inside fn); one node "checkpoint" stands for all of fn. Backward: the node
// restores the random generators' states fn started from (so dropout and drop-path draw the
// same masks), reruns fn with recording on inputs detached from the outer graph, and
// backpropagates the incoming gradients through that inner graph: parameters used inside fn
// (leaves) receive their gradients there, the inputs' gradients return through the node.
// Peak memory: one piece's activations at a time instead of all of them.
//
// When grad mode is off, or no input requires grad, fn simply runs (nothing to save, or the
// gradients of parameters inside fn could not flow: then it is not checkpointed at all).
#pragma once
#include <functional>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace marrow::autograd {

using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// `generators`: those fn draws from (default: the default generator).
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const std::vector<Generator*>& generators = {});
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& x,
                  const std::vector<Generator*>& generators = {});

}  // namespace marrow::autograd
