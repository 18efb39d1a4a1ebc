// Losses the apps share, composed from differentiable ops (until the layers issue brings
// nn/losses with their own kernels).
#pragma once
#include "marrow.h"

namespace marrow::apps {

// Cross entropy: -mean_i log softmax(logits_i)[y_i]; logits (N, C), labels (N,) int64.
inline Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
    Tensor picked = gather(log_softmax(logits, 1), 1, unsqueeze(labels, 1));
    return -mean(picked);
}

}  // namespace marrow::apps
