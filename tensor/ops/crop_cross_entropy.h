// The soft cross-entropies of the SSL losses (issue 15), no autograd: the multi-crop form
// shared by DINO, SwAV and DINOv2 (cross_entropy_crops) and the per-row weighted form of iBOT
// (soft_cross_entropy). The differentiable marrow::cross_entropy_crops / soft_cross_entropy
// (autograd/functions/crop_cross_entropy.cpp) call these and record the backward.
#pragma once
#include "tensor/tensor.h"

namespace marrow::op {

// The scalar loss and the per-row log-sum-exp of logits / tau (what the backward reads).
struct SoftCrossEntropyForward {
    Tensor loss;  // 0-d
    Tensor lse;   // crops: (V, B); rows: (R,)
};

// targets (T, B, K) probabilities (teacher softmax or Sinkhorn codes), student_logits
// (V, B, K), 1 <= T <= V:
//   L = (1/n_terms) sum_{j<T} sum_{v<V, v != j} mean_b [-sum_k targets[j,b,k]
//       log_softmax(student[v,b] / tau)_k],   n_terms = T V - T (> 0)
SoftCrossEntropyForward cross_entropy_crops(const Tensor& targets, const Tensor& student_logits,
                                            double student_temperature);
// dL/dstudent_logits (V, B, K) from g = dL/dloss (0-d) and the forward's lse.
Tensor cross_entropy_crops_backward(const Tensor& g, const Tensor& targets,
                                    const Tensor& student_logits, const Tensor& lse,
                                    double student_temperature);

// targets, logits (R, K), row_weights (R): L = sum_r w_r (-sum_k q_rk log_softmax(s_r / tau)_k);
// R = 0 gives 0 (iBOT with no masked patch).
SoftCrossEntropyForward soft_cross_entropy(const Tensor& targets, const Tensor& logits,
                                           const Tensor& row_weights, double temperature);
Tensor soft_cross_entropy_backward(const Tensor& g, const Tensor& targets, const Tensor& logits,
                                   const Tensor& row_weights, const Tensor& lse,
                                   double temperature);

}  // namespace marrow::op
