// Scaled dot-product attention entry point (no autograd): PyTorch 2.x's argument rules for
// F.scaled_dot_product_attention, batch-dim broadcasting, the mask's strided view, and the
// fused kernels (Note [Fused attention], tensor/cpu/attention.cpp).
// Layers call the differentiable marrow::scaled_dot_product_attention instead.
#pragma once
#include <optional>

#include "tensor/kernels.h"

namespace marrow::op {

struct AttentionOptions {
    double dropout_p = 0;  // in [0, 1); dropout draws from (seed, offset)
    bool is_causal = false;
    std::optional<double> scale;  // default 1 / sqrt(E)
    uint64_t seed = 0, offset = 0;
    // The block products' operand precision; nullopt: this thread's autocast format
    // (gemm_precision, tensor/autocast.h), fixed in the plan so backward replays it.
    std::optional<GemmPrecision> precision;
};

// q (..., L, E), k (..., S, E), v (..., S, Ev), batch dims broadcast together; attn_mask bool
// (true takes part) or q's float dtype (added to the scores), broadcastable to (..., L, S).
// Checked with errors naming the op and the shapes. The kernels see contiguous (batch, L, E)
// views (broadcast batch dims copied) and the mask through strides (AttentionParams).
struct AttentionPlan {
    AttentionParams params;
    Shape batch_shape;           // the broadcast batch dims
    std::optional<Tensor> mask;  // the mask view the kernels read (null: none)
};
AttentionPlan attention_plan(const Tensor& q, const Tensor& k, const Tensor& v,
                             const std::optional<Tensor>& attn_mask, const AttentionOptions& o);

// q, k or v as the kernels take it: broadcast to the plan's batch dims and made contiguous,
// as (batch, rows, cols) (a view of t when it already is). attention() and
// attention_backward() accept either form; autograd saves this one, so a permuted q (DINOv2's
// qkv split) is copied once, not again in backward.
Tensor attention_batched(const AttentionPlan& plan, const Tensor& t);

// out (batch..., L, Ev) and lse (batch..., L), the scores' per-row log-sum-exp.
struct AttentionResult {
    Tensor out, lse;
};
AttentionResult attention(const AttentionPlan& plan, const Tensor& q, const Tensor& k,
                          const Tensor& v);

// Gradients from g = dL/dout, for the broadcast shapes (batch..., L, E) etc.; only those
// asked for (the others nullopt). dmask: dL/d(additive mask) at (batch..., L, S).
struct AttentionGrads {
    std::optional<Tensor> dq, dk, dv, dmask;
};
AttentionGrads attention_backward(const AttentionPlan& plan, const Tensor& q, const Tensor& k,
                                  const Tensor& v, const Tensor& out, const Tensor& lse,
                                  const Tensor& g, bool want_q, bool want_k, bool want_v,
                                  bool want_mask);

}  // namespace marrow::op
