// Sinkhorn-Knopp equipartition (SwAV's distributed_sinkhorn at world size 1, DINOv2's
// SinkhornKnopp teacher): no autograd, the result is a constant target. marrow::sinkhorn_knopp
// (autograd/ops.h) is the same function.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace marrow::op {

// scores (B', K) float32/float64 (prototype scores, or teacher logits with epsilon = the
// teacher temperature) -> Q (B', K), each row summing to 1, the per-prototype masses
// approaching B'/K. Exactly upstream's iteration order (ssl_mil_spec.md 4.3), computed in the
// log domain (no overflow for scores / epsilon up to ~1e4; Note [Sinkhorn in the log domain],
// tensor/cpu/sinkhorn.cpp). Errors: not 2-D, empty, epsilon <= 0, iterations < 1, a
// non-finite score.
Tensor sinkhorn_knopp(const Tensor& scores, double epsilon, int64_t iterations);

}  // namespace marrow::op
