// scaled_dot_product_attention with its fused backward (PyTorch 2.x's
// F.scaled_dot_product_attention; torch 1.13, which made the goldens, composes it).
//
// Forward, per batch-head (Note [Fused attention], tensor/cpu/attention.cpp):
//   S = scale Q K^T + M (M: the additive mask; -inf where a bool mask is false or causal hides)
//   P = softmax_rows(S) = exp(S - lse),  P~ = P o Z / (1 - p)  (Z: dropout's keep mask)
//   O = P~ V
// Backward from dO = dL/dO (FlashAttention-2, Dao 2023, Algorithm 2):
//   dV = P~^T dO                          (O is linear in V)
//   dP~ = dO V^T,  dP = dP~ o Z / (1 - p) (dropout is an elementwise scale)
//   dS_ij = P_ij (dP_ij - sum_k dP_ik P_ik)   (softmax's Jacobian, row by row)
//   and sum_k dP_ik P_ik = sum_k dP~_ik P~_ik = sum_k (dO V^T)_ik P~_ik = (dO o O) summed over
//   row i =: D_i, so dS = P o (dP - D) needs only O, not the L x S matrix P~.
//   dQ = scale dS K,  dK = scale dS^T Q,  dM = dS (summed to the mask's shape).
// P is recomputed blockwise from Q, K and the saved lse: the graph keeps q, k, v, out, lse
// (L floats per row) and, with dropout, only (seed, offset). Broadcast batch dims: the
// kernels run on the broadcast shape and each gradient is summed back to its input's shape.
// Decisions: a row with every key masked gives NaN (out and gradients), as PyTorch's math path
// (2.1+) and the composed twin; a float mask that requires grad gets dM; dropout_p = 1 gives
// out * 0 (zeros, NaN where the undropped output is NaN), as dropout(p=1) does.
#include "tensor/ops/attention.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::record;
using autograd::SavedTensor;

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& attn_mask, double dropout_p,
                                    bool is_causal, std::optional<double> scale, Generator& gen) {
    MARROW_CHECK(dropout_p >= 0 && dropout_p <= 1,
                 "scaled_dot_product_attention: dropout_p must be in [0, 1], got {} (query {})",
                 dropout_p, q.shape());
    if (dropout_p == 1)
        return scaled_dot_product_attention(q, k, v, attn_mask, 0, is_causal, scale, gen) * 0.0;
    op::AttentionPlan plan =
        op::attention_plan(q, k, v, attn_mask, {dropout_p, is_causal, scale, 0, 0, std::nullopt});
    AttentionParams& p = plan.params;
    if (dropout_p > 0) {  // the mask of F.dropout on the (batch..., L, S) probabilities
        p.seed = gen.state().seed;
        p.offset = gen.reserve(p.batch * p.L * p.S);
    }
    // The kernels' contiguous (batch, L, E) forms, saved for backward: views of q, k, v
    // unless those are broadcast or strided (then copied once here, and the originals are
    // not kept alive by this node).
    Tensor qb = op::attention_batched(plan, q), kb = op::attention_batched(plan, k),
           vb = op::attention_batched(plan, v);
    op::AttentionResult r = op::attention(plan, qb, kb, vb);
    std::vector<Tensor> inputs = {q, k, v};
    bool mask_input = attn_mask && attn_mask->dtype() != DType::b8;
    if (mask_input) inputs.push_back(*attn_mask);
    bool any = false;
    for (const Tensor& t : inputs) any = any || autograd::needs_grad(t);
    const char* name = "scaled_dot_product_attention";
    SavedTensor sq = autograd::save_if(any, qb, name), sk = autograd::save_if(any, kb, name),
                sv = autograd::save_if(any, vb, name), so = autograd::save_if(any, r.out, name),
                sl = autograd::save_if(any, r.lse, name);
    Shape mask_shape = attn_mask ? attn_mask->shape() : Shape{};
    Shape q_shape = q.shape(), k_shape = k.shape(), v_shape = v.shape();
    return record(name, inputs, r.out, [=](const Grads& g, const NeedsGrad& needs) -> Grads {
        bool want_mask = needs.size() > 3 && needs[3];
        op::AttentionGrads d =
            op::attention_backward(plan, sq.get(), sk.get(), sv.get(), so.get(), sl.get(), *g[0],
                                   needs[0], needs[1], needs[2], want_mask);
        auto back = [](std::optional<Tensor>& t, const Shape& shape) -> std::optional<Tensor> {
            if (!t) return std::nullopt;
            return t->shape() == shape ? *t : sum_to(*t, shape);
        };
        Grads out = {back(d.dq, q_shape), back(d.dk, k_shape), back(d.dv, v_shape)};
        if (needs.size() > 3) out.push_back(back(d.dmask, mask_shape));
        return out;
    });
}

}  // namespace marrow
