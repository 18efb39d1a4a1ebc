// Losses with torch.nn.functional semantics (names, options, defaults, shapes, reductions),
// composed from the differentiable ops in autograd/ops.h, so their gradients come from those
// ops' audited backward rules. Fused kernels, when they come, keep these as reference.
//
//   Tensor loss = nn::cross_entropy(logits, target);                       // mean over N
//   nn::cross_entropy(logits, target, {.reduction = nn::Reduction::sum});
//   nn::cross_entropy(logits, target, {.weight = w, .ignore_index = 0, .label_smoothing = 0.1});
//   nn::cross_entropy(logits, soft_target);            // (N, C) probabilities: soft labels
//   nn::binary_cross_entropy_with_logits(logits, y, {.pos_weight = pw});
//   nn::mse_loss(pred, y);  nn::smooth_l1_loss(pred, y, {.beta = 0.5});
//   nn::kl_div(log_q, log_p, {.reduction = nn::KlDivReduction::batchmean, .log_target = true});
//   nn::cosine_similarity(a, b, /*dim=*/1);
//
// Where PyTorch only warns that target and input sizes differ (mse_loss, l1_loss,
// smooth_l1_loss, huber_loss broadcast them), these throw an error naming the loss and both
// shapes: the broadcast is almost always a bug ((N, 1) predictions against (N) targets).
// Two different floating dtypes are an error naming both (as for every marrow op); an integer
// or bool target of a regression loss takes the input's dtype (PyTorch's promotion).
//
// Files: losses_classification.cpp (cross_entropy, nll_loss, binary cross entropy),
// losses_regression.cpp (mse, l1, smooth l1, huber, kl_div, cosine similarity/embedding).
#pragma once
#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace marrow::nn {

// How a per-element loss becomes the result (torch's reduction="none" | "mean" | "sum").
enum class Reduction { none, mean, sum };

// ---- classification (losses_classification.cpp)

struct NllLossOptions {
    // (C): rescales each class; a weighted mean divides by the sum of the weights of the
    // targets it counted.
    std::optional<Tensor> weight = std::nullopt;
    int64_t ignore_index = -100;  // targets equal to it add nothing (nor to the mean's count)
    Reduction reduction = Reduction::mean;
};

struct CrossEntropyOptions {
    std::optional<Tensor> weight = std::nullopt;  // as in NllLossOptions
    // Class-index targets only; a soft (probability) target requires it negative, as PyTorch.
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::mean;
    double label_smoothing = 0;  // in [0, 1]: the target becomes (1 - e) target + e / C
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

// Cross entropy of logits (torch.nn.functional.cross_entropy), with two kinds of target, told
// apart as PyTorch does, by the target's shape:
// - class indices, target (N, d1, ...) int64 (input (N, C, d1, ...), or (C) with a 0-d
//   target): nll_loss(log_softmax(logits, 1), target) with the same shapes and options, plus
//   label smoothing: (1 - e) nll + (e / C) smooth, smooth_i = -sum_c weight[c]
//   log_softmax[i, c] (zero at ignored targets, reduced like nll, the mean by the same
//   denominator).
// - class probabilities, target of the input's shape and floating dtype (soft labels, e.g.
//   mixup or distillation): p = (1 - e) target + e / C, loss_i = -sum_c weight[c] p[i, c]
//   log_softmax[i, c]; "mean" divides the sum by the number of rows N d1 ... (not by the
//   weights, unlike class indices: PyTorch's cross_entropy_loss_prob_target). The target
//   is differentiable. ignore_index must stay negative.
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = {});

struct BinaryCrossEntropyOptions {
    // Broadcastable to the input's shape: rescales each element (torch's "weight"; not
    // differentiated, as in PyTorch).
    std::optional<Tensor> weight = std::nullopt;
    Reduction reduction = Reduction::mean;
};

struct BinaryCrossEntropyWithLogitsOptions {
    std::optional<Tensor> weight = std::nullopt;  // broadcastable to the input's shape
    // Broadcastable to the input's shape, typically (C) against (N, C): the weight of the
    // positive term of each class (n_neg / n_pos counteracts class imbalance).
    std::optional<Tensor> pos_weight = std::nullopt;
    Reduction reduction = Reduction::mean;
};

// Binary cross entropy of probabilities (torch.nn.functional.binary_cross_entropy):
//   input, target: same shape, input in [0, 1] (checked, reading it on the host);
//   loss = -weight (t max(log x, -100) + (1 - t) max(log(1 - x), -100)).
// The -100 clamp keeps x = 0 or 1 finite; the gradient is PyTorch's closed form
// w (x - t) / max(x (1 - x), 1e-12), finite there too (derivation in the .cpp).
// Prefer binary_cross_entropy_with_logits on logits: it is exact where sigmoid saturates.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const BinaryCrossEntropyOptions& options = {});

// Binary cross entropy of logits (torch.nn.functional.binary_cross_entropy_with_logits):
//   input, target: same shape;
//   loss = weight ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)),
// which is -weight (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) without
// forming sigmoid(x): finite and exact for any |x|.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options = {});

// ---- regression and distances (losses_regression.cpp)

// input, target: the same shape (an error naming both otherwise, see above).
// mse: (x - y)^2; l1: |x - y| (gradient sign(x - y), 0 at a tie, as PyTorch).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

struct SmoothL1LossOptions {
    Reduction reduction = Reduction::mean;
    double beta = 1;  // >= 0; 0 gives l1_loss
};

struct HuberLossOptions {
    Reduction reduction = Reduction::mean;
    double delta = 1;  // > 0
};

// smooth_l1 (torch.nn.functional.smooth_l1_loss), z = |x - y|:
//   0.5 z^2 / beta if z < beta, else z - 0.5 beta. beta = 0 is l1_loss (PyTorch >= 2.0
//   dispatches it there; 1.13 differs only in the gradient at an exact tie, -1 instead of 0).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target,
                      const SmoothL1LossOptions& options = {});
// huber (torch.nn.functional.huber_loss): 0.5 z^2 if z < delta, else delta (z - 0.5 delta),
// i.e. delta * smooth_l1 with beta = delta.
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {});

// kl_div's reductions: torch's "mean" divides by every element (not the KL divergence);
// "batchmean" divides the sum by input.size(0) (the KL divergence averaged over the batch).
enum class KlDivReduction { none, mean, sum, batchmean };

struct KlDivOptions {
    KlDivReduction reduction = KlDivReduction::mean;  // PyTorch's default
    bool log_target = false;                          // target given as log-probabilities
};

// Kullback-Leibler divergence KL(target || exp(input)) (torch.nn.functional.kl_div):
//   input: log-probabilities; target and input broadcast (PyTorch's rule, no check of equal
//   sizes); pointwise t (log t - x) with 0 where t = 0 (xlogy), or exp(t) (t - x) when
//   log_target. A negative target gives NaN, as in PyTorch. The target is differentiable.
Tensor kl_div(const Tensor& input, const Tensor& target, const KlDivOptions& options = {});

// Cosine similarity along dim (torch.nn.functional.cosine_similarity): x1 and x2 broadcast
// to a common shape first (dim counts in that shape), the result drops dim:
//   sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps), dim),
// which stays within [-1, 1]. Its gradient matches PyTorch's also where a norm is below eps
// (see the .cpp). An integer input takes the other's floating dtype.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim = 1, double eps = 1e-8);

struct CosineEmbeddingLossOptions {
    double margin = 0;  // in [-1, 1]; dissimilar pairs cost max(0, cos - margin)
    Reduction reduction = Reduction::mean;
};

// torch.nn.functional.cosine_embedding_loss: x1, x2 (N, D) with target (N), or (D) with a 0-d
// target, of 1 (similar: 1 - cos) or -1 (dissimilar: max(0, cos - margin)); other target
// values cost 0. cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) (PyTorch's EPSILON).
Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options = {});

}  // namespace marrow::nn
