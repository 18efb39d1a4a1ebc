#include "tensor/ops/attention.h"

#include <cmath>
#include <limits>

#include "tensor/autocast.h"
#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {
namespace {

constexpr const char* kName = "scaled_dot_product_attention";

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

Tensor as_batched(const Tensor& t, const Shape& batch_shape, int64_t batch);

Shape with_tail(Shape batch, int64_t a, int64_t b) {
    batch.push_back(a);
    batch.push_back(b);
    return batch;
}

}  // namespace

// t (batch_shape..., r, c) broadcast and made contiguous, as (batch, r, c); a contiguous
// (batch, r, c) tensor (what this returned before) is returned as it is.
Tensor attention_batched(const AttentionPlan& plan, const Tensor& t) {
    return as_batched(t, plan.batch_shape, plan.params.batch);
}

namespace {

Tensor as_batched(const Tensor& t, const Shape& batch_shape, int64_t batch) {
    if (t.dim() == 3 && t.size(0) == batch && t.is_contiguous()) return t;
    Shape full = with_tail(batch_shape, t.size(-2), t.size(-1));
    Tensor x = t.shape() == full ? t : expand(t, full);
    return view(contiguous(x), {batch, t.size(-2), t.size(-1)});
}

// The mask's batch dims (broadcast to batch_shape, stride 0 where expanded) as at most two
// strided dims (outer, inner): adjacent dims merge when the outer stride is the inner's
// stride times its size (so (B, H) with strides (S, 0) stays two dims, (H, L) merges).
// Returns false when three or more remain.
bool mask_batch_strides(const Shape& sizes, const Shape& strides, AttentionParams& p) {
    std::vector<std::pair<int64_t, int64_t>> dims;  // (size, stride), outermost first
    for (size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] == 1) continue;
        if (!dims.empty() && dims.back().second == strides[d] * sizes[d])
            dims.back() = {dims.back().first * sizes[d], strides[d]};
        else
            dims.push_back({sizes[d], strides[d]});
    }
    if (dims.size() > 2) return false;
    p.mask_inner = dims.empty() ? 1 : dims.back().first;
    p.mask_si = dims.empty() ? 0 : dims.back().second;
    p.mask_so = dims.size() == 2 ? dims.front().second : 0;
    return true;
}

}  // namespace

AttentionPlan attention_plan(const Tensor& q, const Tensor& k, const Tensor& v,
                             const std::optional<Tensor>& attn_mask, const AttentionOptions& o) {
    MARROW_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2,
                 "{}: query, key and value need at least 2 dims (..., L, E), got {}, {} and {}",
                 kName, q.shape(), k.shape(), v.shape());
    MARROW_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(),
                 "{}: expected query, key and value to have the same dtype, got {}, {} and {} "
                 "(shapes {}, {}, {})",
                 kName, q.dtype(), k.dtype(), v.dtype(), q.shape(), k.shape(), v.shape());
    MARROW_CHECK(q.dtype() == DType::f32 || q.dtype() == DType::f64,
                 "{}: expected float32 or float64 inputs, got {} (query {})", kName, q.dtype(),
                 q.shape());
    MARROW_CHECK(q.device() == k.device() && q.device() == v.device(),
                 "{}: query, key and value must be on one device, got {}, {} and {}", kName,
                 q.device(), k.device(), v.device());
    MARROW_CHECK(k.size(-1) == q.size(-1),
                 "{}: key's last dim must equal query's (E), got query {} and key {}", kName,
                 q.shape(), k.shape());
    MARROW_CHECK(k.size(-2) == v.size(-2),
                 "{}: key and value must have the same length (S, dim -2), got key {} and value "
                 "{}",
                 kName, k.shape(), v.shape());
    MARROW_CHECK(o.dropout_p >= 0 && o.dropout_p < 1,
                 "{}: dropout_p must be in [0, 1), got {} (query {})", kName, o.dropout_p,
                 q.shape());
    MARROW_CHECK(!(attn_mask && o.is_causal),
                 "{}: explicit attn_mask should not be set when is_causal=True (query {}, mask "
                 "{})",
                 kName, q.shape(), attn_mask->shape());
    AttentionPlan plan;
    plan.batch_shape =
        broadcast_shapes(broadcast_shapes(batch_of(q), batch_of(k), kName), batch_of(v), kName);
    AttentionParams& p = plan.params;
    p.batch = shape_numel(plan.batch_shape);
    p.L = q.size(-2);
    p.S = k.size(-2);
    p.E = q.size(-1);
    p.Ev = v.size(-1);
    p.scale = o.scale ? *o.scale : 1.0 / std::sqrt(double(p.E));
    p.causal = o.is_causal;
    p.dropout_p = o.dropout_p;
    p.seed = o.seed;
    p.offset = o.offset;
    p.precision = gemm_precision(q.dtype(), o.precision);
    if (attn_mask) {
        Tensor m = *attn_mask;
        MARROW_CHECK(m.dtype() == DType::b8 || m.dtype() == q.dtype(),
                     "{}: attn_mask must be bool or the query's dtype {}, got {} (mask {})", kName,
                     q.dtype(), m.dtype(), m.shape());
        MARROW_CHECK(m.device() == q.device(), "{}: attn_mask is on {}, query on {}", kName,
                     m.device(), q.device());
        Shape full = with_tail(plan.batch_shape, p.L, p.S);
        MARROW_CHECK(broadcast_shapes(m.shape(), full, kName) == full,
                     "{}: attn_mask of shape {} does not broadcast to the scores' shape {}", kName,
                     m.shape(), full);
        Shape strides = broadcast_strides(m.shape(), m.strides(), full, kName);
        if (!mask_batch_strides(plan.batch_shape, Shape(strides.begin(), strides.end() - 2),
                                p)) {  // an unusual broadcast: materialize it
            m = view(contiguous(expand(m, full)), {p.batch, p.L, p.S});
            strides = m.strides();
            p.mask_inner = p.batch;
            p.mask_so = 0;
            p.mask_si = strides[0];
        }
        p.mask_sr = strides[strides.size() - 2];
        p.mask_sc = strides.back();
        plan.mask = m;
    }
    return plan;
}

AttentionResult attention(const AttentionPlan& plan, const Tensor& q, const Tensor& k,
                          const Tensor& v) {
    const AttentionParams& p = plan.params;
    Tensor out = empty({p.batch, p.L, p.Ev}, q.dtype(), q.device());
    Tensor lse = empty({p.batch, p.L}, q.dtype(), q.device());
    if (p.batch * p.L > 0) {
        if (p.S == 0) {  // softmax over no keys: out = P V = 0, as PyTorch's matmuls
            fill_(out, 0);
            fill_(lse, -std::numeric_limits<double>::infinity());
        } else {
            kernel<OpId::attention>(q.device(), kName)(p, as_batched(q, plan.batch_shape, p.batch),
                                                       as_batched(k, plan.batch_shape, p.batch),
                                                       as_batched(v, plan.batch_shape, p.batch),
                                                       plan.mask ? &*plan.mask : nullptr, out, lse);
        }
    }
    return {view(out, with_tail(plan.batch_shape, p.L, p.Ev)), view(lse, [&] {
                Shape s = plan.batch_shape;
                s.push_back(p.L);
                return s;
            }())};
}

AttentionGrads attention_backward(const AttentionPlan& plan, const Tensor& q, const Tensor& k,
                                  const Tensor& v, const Tensor& out, const Tensor& lse,
                                  const Tensor& g, bool want_q, bool want_k, bool want_v,
                                  bool want_mask) {
    const AttentionParams& p = plan.params;
    Shape out_shape = with_tail(plan.batch_shape, p.L, p.Ev);
    MARROW_CHECK(g.shape() == out_shape, "{}: gradient shape {} != output {}", kName, g.shape(),
                 out_shape);
    auto make = [&](bool want, int64_t r, int64_t c) -> std::optional<Tensor> {
        if (!want) return std::nullopt;
        return empty({p.batch, r, c}, q.dtype(), q.device());
    };
    std::optional<Tensor> dq = make(want_q, p.L, p.E), dk = make(want_k, p.S, p.E),
                          dv = make(want_v, p.S, p.Ev), dm = make(want_mask, p.L, p.S);
    bool empty_work = p.batch * p.L == 0 || p.S == 0;
    if (empty_work) {
        for (auto* t : {&dq, &dk, &dv, &dm})
            if (*t) fill_(**t, 0);
    } else {
        auto ptr = [](std::optional<Tensor>& t) { return t ? &*t : nullptr; };
        kernel<OpId::attention_backward>(q.device(), "scaled_dot_product_attention_backward")(
            p, as_batched(q, plan.batch_shape, p.batch), as_batched(k, plan.batch_shape, p.batch),
            as_batched(v, plan.batch_shape, p.batch), plan.mask ? &*plan.mask : nullptr,
            view(contiguous(out), {p.batch, p.L, p.Ev}), view(contiguous(lse), {p.batch, p.L}),
            view(contiguous(g), {p.batch, p.L, p.Ev}), ptr(dq), ptr(dk), ptr(dv), ptr(dm));
    }
    auto shaped = [&](std::optional<Tensor>& t, int64_t r, int64_t c) -> std::optional<Tensor> {
        if (!t) return std::nullopt;
        return view(*t, with_tail(plan.batch_shape, r, c));
    };
    return {shaped(dq, p.L, p.E), shaped(dk, p.S, p.E), shaped(dv, p.S, p.Ev),
            shaped(dm, p.L, p.S)};
}

}  // namespace marrow::op
