// Classification losses with torch.nn.functional semantics, composed from the differentiable
// ops in autograd/ops.h (log_softmax, gather, index_select), so their gradients come from
// those ops' audited backward rules. Fused kernels, when they come, keep these as reference.
//
//   Tensor loss = nn::cross_entropy(logits, target);                       // mean over N
//   nn::cross_entropy(logits, target, {.reduction = nn::Reduction::sum});
//   nn::cross_entropy(logits, target, {.weight = w, .ignore_index = 0, .label_smoothing = 0.1});
#pragma once
#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace marrow::nn {

// How a per-element loss becomes the result (torch's reduction="none" | "mean" | "sum").
enum class Reduction { none, mean, sum };

struct NllLossOptions {
    // (C): rescales each class; a weighted mean divides by the sum of the weights of the
    // targets it counted.
    std::optional<Tensor> weight = std::nullopt;
    int64_t ignore_index = -100;  // targets equal to it add nothing (nor to the mean's count)
    Reduction reduction = Reduction::mean;
};

struct CrossEntropyOptions {
    std::optional<Tensor> weight = std::nullopt;  // as in NllLossOptions
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::mean;
    double label_smoothing = 0;  // in [0, 1]: the target becomes (1 - e) one_hot + e / C
};

// Negative log-likelihood of class indices (torch.nn.functional.nll_loss):
//   log_probs: (N, C) or (N, C, d1, ...) (or (C) with a 0-d target); target: (N) or
//   (N, d1, ...) int64 in [0, C) or equal to ignore_index.
//   loss_i = -weight[t_i] log_probs[i, t_i]; "none" returns (N, d1, ...), "sum" their sum,
//   "mean" their sum / sum_i weight[t_i] over the non-ignored i (NaN when all are ignored,
//   as in PyTorch).
// The range check reads the target on the host (a device copy for CUDA tensors) until a
// device-side assert exists.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& options = {});

// Cross entropy of logits against class indices (torch.nn.functional.cross_entropy):
//   nll_loss(log_softmax(logits, 1), target) with the same shapes and options, plus label
//   smoothing: (1 - e) nll + (e / C) smooth, smooth_i = -sum_c weight[c] log_softmax[i, c]
//   (zero at ignored targets, reduced like nll, the mean by the same denominator).
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = {});

}  // namespace marrow::nn
